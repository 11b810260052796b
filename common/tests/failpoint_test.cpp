#include "crm/common/failpoint.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>

#include "crm/common/errors.hpp"

using namespace crm::common;

TEST_CASE("failpoints are off unless configured") {
    ConfigureFailpoints("");
    CHECK_NOTHROW(Failpoint("leads.convert.after_contacts"));
    CHECK(FailpointHits("leads.convert.after_contacts") == 0);
}

TEST_CASE("error failpoints throw UNAVAILABLE, a given number of times") {
    ConfigureFailpoints("a.b.c=error*2; other.point=delay:1");
    CHECK_NOTHROW(Failpoint("a.b"));  // only exact names fire
    try {
        Failpoint("a.b.c");
        FAIL("did not fire");
    } catch (const ApiError& e) {
        CHECK(e.code() == grpc::StatusCode::UNAVAILABLE);
    }
    CHECK_THROWS_AS(Failpoint("a.b.c"), ApiError);
    CHECK_NOTHROW(Failpoint("a.b.c"));  // spent
    CHECK(FailpointHits("a.b.c") == 2);
    ConfigureFailpoints("");
}

TEST_CASE("delay failpoints sleep") {
    ConfigureFailpoints("x.y=delay:30");
    const auto start = std::chrono::steady_clock::now();
    Failpoint("x.y");
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
    ConfigureFailpoints("");
}

TEST_CASE("crash failpoints kill the process as a power loss would (SIGKILL)") {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ConfigureFailpoints("svc.step=crash");
        Failpoint("svc.step");
        _exit(0);  // not reached
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("malformed specs are refused with a reason") {
    CHECK_THROWS_AS(ConfigureFailpoints("noaction"), std::invalid_argument);
    CHECK_THROWS_AS(ConfigureFailpoints("a=explode"), std::invalid_argument);
    CHECK_THROWS_AS(ConfigureFailpoints("a=delay:x"), std::invalid_argument);
    CHECK_THROWS_AS(ConfigureFailpoints("a=error*"), std::invalid_argument);
    CHECK_THROWS_AS(ConfigureFailpoints("=crash"), std::invalid_argument);
}
