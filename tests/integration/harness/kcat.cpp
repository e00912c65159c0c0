#include "harness/kcat.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "harness/program.hpp"
#include "harness/temp_dir.hpp"

namespace pgtrail::it {
namespace {

std::string shell_quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace

void kcat_produce(const std::string& brokers, const std::string& topic, int partition,
                  const std::vector<std::string>& lines, bool null_for_empty) {
    TempDir dir("pgtrail-it-kcat");
    const auto input = dir.path() / "input";
    const auto errors = dir.path() / "stderr";
    {
        std::ofstream out(input, std::ios::binary);
        for (const auto& line : lines) {
            if (line.find('\n') != std::string::npos)
                throw std::logic_error("kcat_produce: a line holds a newline");
            out << line << '\n';
        }
    }
    const std::string command =
        "kcat -b " + shell_quoted(brokers) + " -t " + shell_quoted(topic) + " -P -p " +
        std::to_string(partition) + " -K '|'" + (null_for_empty ? " -Z" : "") + " < " +
        shell_quoted(input.string()) + " 2> " + shell_quoted(errors.string());
    const int status = std::system(command.c_str());
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("kcat failed (status " + std::to_string(status) + "): " + command +
                                 "\n" + read_file(errors));
    }
}

}  // namespace pgtrail::it
