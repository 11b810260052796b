#pragma once
// Rows of the knowledge base's tables <-> the API's messages, inside the caller's transaction (knowledge.cpp,
// search.cpp, feedback.cpp).
#include <crm/support/v1/knowledge.pb.h>

#include <string>

namespace pqxx {
class transaction_base;
class row;
}  // namespace pqxx

namespace crm::common {
class Db;
}

namespace crm::support::kb {

// A row of sql's article columns.
v1::Article ReadArticle(const pqxx::row& row);
// NOT_FOUND when the tenant has no such article.
v1::Article LoadArticle(common::Db& db, pqxx::transaction_base& tx, const std::string& tenant, const std::string& id,
                        bool for_update = false);
// A row of sql's hit columns.
v1::ArticleHit ReadHit(const pqxx::row& row);

}  // namespace crm::support::kb
