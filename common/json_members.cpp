#include "common/json_members.hpp"

namespace pgtrail {
namespace {

// Nesting deeper than this is refused rather than risking the stack on hostile input.
constexpr int kMaxDepth = 512;

// A validating JSON scanner that never interprets numbers: RapidJSON refuses numbers beyond
// double range (1e400, a numeric with 400 digits) even when asked to keep them as strings,
// and pgtrail must pass them through untouched.
class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    std::vector<JsonMember> object_members() {
        skip_space();
        if (peek() != '{') fail("expected a JSON object");
        std::vector<JsonMember> members;
        whole_list('}', "object", [&] {
            JsonMember member;
            string(&member.name);
            skip_space();
            expect(':');
            skip_space();
            const std::size_t begin = pos_;
            value(1);
            member.raw_value = text_.substr(begin, pos_ - begin);
            members.push_back(std::move(member));
        });
        return members;
    }

    std::vector<std::string> string_array() {
        skip_space();
        if (peek() != '[') fail("expected a JSON array");
        std::vector<std::string> items;
        whole_list(']', "array", [&] { string(&items.emplace_back()); });
        return items;
    }

    std::string whole_string() {
        skip_space();
        std::string out;
        string(&out);
        skip_space();
        if (pos_ != text_.size()) fail("unexpected text after the string");
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw JsonError("invalid JSON at byte " + std::to_string(pos_) + ": " + what);
    }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    bool at_end() const { return pos_ >= text_.size(); }
    void expect(char c) {
        if (peek() != c || at_end()) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    void skip_space() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
            ++pos_;
    }

    // The rest of the text from an opening bracket: items separated by commas up to `close`,
    // and nothing after it.
    template <typename Item>
    void whole_list(char close, const char* what, Item item) {
        ++pos_;
        skip_space();
        if (peek() == close) {
            ++pos_;
        } else {
            for (;;) {
                skip_space();
                item();
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect(close);
                break;
            }
        }
        skip_space();
        if (pos_ != text_.size()) fail(std::string("unexpected text after the ") + what);
    }

    void value(int depth) {
        if (depth > kMaxDepth) fail("nested too deeply");
        switch (peek()) {
            case '{':
                return container(depth, '}', true);
            case '[':
                return container(depth, ']', false);
            case '"':
                return string(nullptr);
            case 't':
                return literal("true");
            case 'f':
                return literal("false");
            case 'n':
                return literal("null");
            default:
                return number();
        }
    }

    void container(int depth, char close, bool is_object) {
        ++pos_;
        skip_space();
        if (peek() == close) {
            ++pos_;
            return;
        }
        for (;;) {
            skip_space();
            if (is_object) {
                string(nullptr);
                skip_space();
                expect(':');
                skip_space();
            }
            value(depth + 1);
            skip_space();
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            expect(close);
            return;
        }
    }

    void literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) fail("unknown literal");
        pos_ += word.size();
    }

    void digits() {
        if (!std::isdigit(static_cast<unsigned char>(peek())) || at_end()) fail("expected a digit");
        while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    }

    void number() {
        if (peek() == '-') ++pos_;
        if (peek() == '0' && !at_end()) {
            ++pos_;
        } else {
            digits();
        }
        if (peek() == '.' && !at_end()) {
            ++pos_;
            digits();
        }
        if ((peek() == 'e' || peek() == 'E') && !at_end()) {
            ++pos_;
            if (peek() == '+' || peek() == '-') ++pos_;
            digits();
        }
    }

    unsigned hex4() {
        if (pos_ + 4 > text_.size()) fail("short \\u escape");
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            code <<= 4;
            if (c >= '0' && c <= '9')
                code |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f')
                code |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                code |= static_cast<unsigned>(c - 'A' + 10);
            else
                fail("bad \\u escape");
        }
        return code;
    }

    static void append_utf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }

    void escape(std::string* out) {
        const char c = peek();
        ++pos_;
        char plain = 0;
        switch (c) {
            case '"':
                plain = '"';
                break;
            case '\\':
                plain = '\\';
                break;
            case '/':
                plain = '/';
                break;
            case 'b':
                plain = '\b';
                break;
            case 'f':
                plain = '\f';
                break;
            case 'n':
                plain = '\n';
                break;
            case 'r':
                plain = '\r';
                break;
            case 't':
                plain = '\t';
                break;
            case 'u': {
                unsigned code = hex4();
                if (code >= 0xD800 && code <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
                    pos_ += 2;
                    const unsigned low = hex4();
                    if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                }
                if (out != nullptr) append_utf8(*out, code);
                return;
            }
            default:
                fail("bad escape");
        }
        if (out != nullptr) *out += plain;
    }

    // Well-formed UTF-8 only: PostgreSQL would refuse anything else anyway, later and
    // with a less precise error.
    void utf8_sequence(std::string* out) {
        const auto lead = static_cast<unsigned char>(text_[pos_]);
        const int extra = lead >= 0xF0 && lead <= 0xF4  ? 3
                          : lead >= 0xE0                ? 2
                          : lead >= 0xC2 && lead < 0xE0 ? 1
                                                        : -1;
        if (extra < 0 || pos_ + extra >= text_.size()) fail("invalid UTF-8");
        for (int i = 1; i <= extra; ++i)
            if ((static_cast<unsigned char>(text_[pos_ + i]) & 0xC0) != 0x80) fail("invalid UTF-8");
        if (out != nullptr) out->append(text_.substr(pos_, extra + 1));
        pos_ += extra + 1;
    }

    void string(std::string* out) {
        expect('"');
        for (;;) {
            if (at_end()) fail("unterminated string");
            const auto c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                ++pos_;
                return;
            }
            if (c < 0x20) fail("control character in string");
            if (c == '\\') {
                ++pos_;
                escape(out);
            } else if (c >= 0x80) {
                utf8_sequence(out);
            } else {
                if (out != nullptr) *out += static_cast<char>(c);
                ++pos_;
            }
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

std::vector<JsonMember> split_object(std::string_view json) {
    return Scanner(json).object_members();
}

const JsonMember* find_member(const std::vector<JsonMember>& members, std::string_view name) {
    for (const auto& member : members)
        if (member.name == name) return &member;
    return nullptr;
}

void append_json_string(std::string& out, std::string_view text) {
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

std::string decode_json_string(std::string_view raw) { return Scanner(raw).whole_string(); }

std::vector<std::string> decode_string_array(std::string_view raw) {
    return Scanner(raw).string_array();
}

}  // namespace pgtrail
