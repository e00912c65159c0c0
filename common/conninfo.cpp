#include "common/conninfo.hpp"

#include <libpq-fe.h>

#include <memory>

namespace pgtrail {

std::string masked_conninfo(const std::string& conninfo) {
    char* parse_error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(conninfo.c_str(), &parse_error), &PQconninfoFree);
    if (parse_error != nullptr) PQfreemem(parse_error);
    if (!options) return "<unparseable connection string>";

    std::string shown;
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr || *o->val == '\0') continue;
        const std::string keyword = o->keyword;
        if (keyword != "host" && keyword != "hostaddr" && keyword != "port" &&
            keyword != "dbname" && keyword != "user")
            continue;
        if (!shown.empty()) shown += ' ';
        shown += keyword + "=" + o->val;
    }
    return shown.empty() ? "<default connection>" : shown;
}

}  // namespace pgtrail
