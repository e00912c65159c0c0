#include "common/conninfo.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <string_view>

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

void hide_password_in_place(char* arg) {
    std::string_view text(arg);
    auto blank = [&](std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i) arg[i] = '*';
    };
    for (std::size_t at = text.find("password="); at != std::string_view::npos;
         at = text.find("password=", at + 1)) {
        std::size_t begin = at + 9;
        std::size_t end = begin;
        if (end < text.size() && text[end] == '\'') {
            begin = ++end;  // keep the quotes, blank what is between them
            for (; end < text.size() && text[end] != '\''; ++end)
                if (text[end] == '\\') ++end;
        } else {
            while (end < text.size() && text[end] != ' ' && text[end] != '&') ++end;
        }
        blank(begin, std::min(end, text.size()));
    }
    const std::size_t scheme = text.find("://");
    if (scheme == std::string_view::npos) return;
    const std::size_t authority = scheme + 3;
    const std::size_t at = text.find('@', authority);
    const std::size_t slash = text.find('/', authority);
    if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) return;
    const std::size_t colon = text.find(':', authority);
    if (colon != std::string_view::npos && colon < at) blank(colon + 1, at);
}

}  // namespace pgtrail
