#pragma once
// Contact data shaped like a real tenant's, for the create benchmarks and the preloads (tests/bench/create.sh):
// - family names: one surname on 10% of the contacts ("smith"), 39 more common ones sharing 30% with a Zipf-like
//   spread (weight 1/rank), and 60% from a large space of rare synthetic surnames (three syllables of 40: 64,000);
// - given names: 120 real given names with a Zipf-like spread (weight 1/rank^1.1), so a few are very common;
// - emails unique (given.family.<serial or random>@one of 50 domains);
// - phones: 70% of the contacts have one; 30% of those share one of 500 switchboard numbers, the rest are unique.
// Names are ASCII, so their normalized forms (what the contacts service stores for matching) are the lowercase
// forms; every value is already in the service's normalized form (lowercase email, E.164 phone), so a preload that
// writes these rows directly stores what CreateContact would have stored.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace crm::bench {

struct Person {
    std::string given;   // "James"
    std::string family;  // "Smith"
    std::string email;   // "james.smith.4711@mail7.example"
    std::string phone;   // "+14155550123" or ""
};

inline std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

class NameGen {
  public:
    NameGen() {
        static const char* kGiven[] = {
            "James",    "Mary",      "John",    "Patricia",  "Robert",   "Jennifer",  "Michael",   "Linda",
            "William",  "Elizabeth", "David",   "Barbara",   "Richard",  "Susan",     "Joseph",    "Jessica",
            "Thomas",   "Sarah",     "Charles", "Karen",     "Maria",    "Nancy",     "Daniel",    "Lisa",
            "Matthew",  "Betty",     "Anthony", "Margaret",  "Mark",     "Sandra",    "Donald",    "Ashley",
            "Steven",   "Kimberly",  "Paul",    "Emily",     "Andrew",   "Donna",     "Joshua",    "Michelle",
            "Kenneth",  "Carol",     "Kevin",   "Amanda",    "Brian",    "Dorothy",   "George",    "Melissa",
            "Timothy",  "Deborah",   "Ronald",  "Stephanie", "Edward",   "Rebecca",   "Jason",     "Sharon",
            "Jeffrey",  "Laura",     "Ryan",    "Cynthia",   "Jacob",    "Kathleen",  "Gary",      "Amy",
            "Nicholas", "Angela",    "Eric",    "Shirley",   "Jonathan", "Anna",      "Stephen",   "Brenda",
            "Larry",    "Pamela",    "Justin",  "Emma",      "Scott",    "Nicole",    "Brandon",   "Helen",
            "Benjamin", "Samantha",  "Samuel",  "Katherine", "Gregory",  "Christine", "Alexander", "Debra",
            "Frank",    "Rachel",    "Patrick", "Carolyn",   "Raymond",  "Janet",     "Jack",      "Catherine",
            "Dennis",   "Sophia",    "Jerry",   "Heather",   "Tyler",    "Diane",     "Aaron",     "Ruth",
            "Jose",     "Julie",     "Adam",    "Olivia",    "Nathan",   "Joyce",     "Henry",     "Virginia",
            "Douglas",  "Victoria",  "Zachary", "Kelly",     "Peter",    "Lauren",    "Kyle",      "Christina"};
        static const char* kCommon[] = {
            "Smith",     "Johnson",  "Williams",  "Brown",   "Jones",    "Garcia",   "Miller",   "Davis",
            "Rodriguez", "Martinez", "Hernandez", "Lopez",   "Gonzalez", "Wilson",   "Anderson", "Thomas",
            "Taylor",    "Moore",    "Jackson",   "Martin",  "Lee",      "Perez",    "Thompson", "White",
            "Harris",    "Sanchez",  "Clark",     "Ramirez", "Lewis",    "Robinson", "Walker",   "Young",
            "Allen",     "King",     "Wright",    "Scott",   "Torres",   "Nguyen",   "Hill",     "Flores"};
        given_.assign(std::begin(kGiven), std::end(kGiven));
        common_.assign(std::begin(kCommon), std::end(kCommon));
        given_cdf_ = Cdf(given_.size(), 1.1);
        common_cdf_ = Cdf(common_.size() - 1, 1.0);  // the surnames after "Smith"
    }

    // The serial makes the email unique within one generator's output (preloads); creates pass a random one.
    Person Make(std::mt19937_64& rng, std::uint64_t serial) const {
        Person p;
        p.given = given_[Pick(given_cdf_, rng)];
        const double u = Unit(rng);
        if (u < 0.10) {
            p.family = common_[0];
        } else if (u < 0.40) {
            p.family = common_[1 + Pick(common_cdf_, rng)];
        } else {
            p.family = RareSurname(rng);
        }
        p.email = Lower(p.given) + "." + Lower(p.family) + "." + std::to_string(serial) + "@mail" +
                  std::to_string(rng() % 50) + ".example";
        const double v = Unit(rng);
        if (v < 0.21) {  // 30% of the 70% with a phone: a shared switchboard number
            p.phone = "+1415555" + Digits(rng() % 500, 4);
        } else if (v < 0.70) {
            p.phone = "+1" + std::to_string(200 + rng() % 800) + Digits(rng() % 10000000, 7);
        }
        return p;
    }

  private:
    static double Unit(std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
    static std::vector<double> Cdf(std::size_t n, double s) {
        std::vector<double> cdf(n);
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
        for (double& x : cdf) x /= sum;
        return cdf;
    }
    static std::size_t Pick(const std::vector<double>& cdf, std::mt19937_64& rng) {
        const double u = Unit(rng);
        std::size_t i = 0;
        while (i + 1 < cdf.size() && cdf[i] < u) ++i;
        return i;
    }
    static std::string Digits(std::uint64_t v, int width) {
        std::string s = std::to_string(v);
        return std::string(static_cast<std::size_t>(std::max(0, width - static_cast<int>(s.size()))), '0') + s;
    }
    static std::string RareSurname(std::mt19937_64& rng) {
        static const char* kSyllables[] = {"ka",  "lo",  "mer", "vin", "dor", "sta", "bel", "ric", "han", "zu",
                                           "per", "gal", "tor", "wen", "mi",  "sen", "lar", "qui", "bro", "fel",
                                           "an",  "rus", "ell", "ock", "ter", "nau", "vik", "sol", "ber", "ing",
                                           "ham", "ton", "ley", "ski", "ova", "ez",  "ard", "ott", "man", "berg"};
        std::string s;
        for (int i = 0; i < 3; ++i) s += kSyllables[rng() % 40];
        s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
        return s;
    }

    std::vector<std::string> given_;
    std::vector<std::string> common_;
    std::vector<double> given_cdf_;
    std::vector<double> common_cdf_;
};

}  // namespace crm::bench
