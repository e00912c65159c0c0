#include "common/conninfo.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pgtrail;

namespace {
std::string hidden(std::string arg) {
    hide_password_in_place(arg.data());
    return arg;
}
}  // namespace

TEST_CASE("passwords are blanked in command-line arguments") {
    CHECK(hidden("postgresql://app:S3cret@db:5432/x") == "postgresql://app:******@db:5432/x");
    CHECK(hidden("host=db password=S3cret user=app") == "host=db password=****** user=app");
    CHECK(hidden("host=db password='a b\\'c' user=app") == "host=db password='******' user=app");
    CHECK(hidden("postgresql://db/x?user=app&password=S3cret&sslmode=require") ==
          "postgresql://db/x?user=app&password=******&sslmode=require");
    CHECK(hidden("postgresql://app@db:5432/x") == "postgresql://app@db:5432/x");
    CHECK(hidden("--drain") == "--drain");
}

TEST_CASE("masked connection strings never carry the password") {
    const std::string masked = masked_conninfo("postgresql://app:S3cret@db:5433/x");
    CHECK(masked.find("S3cret") == std::string::npos);
    CHECK(masked.find("host=db") != std::string::npos);
    CHECK(masked_conninfo("host=db password=S3cret").find("S3cret") == std::string::npos);
}
