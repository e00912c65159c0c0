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

void run_kcat(const std::string& command, const std::filesystem::path& errors) {
    const int status = std::system(command.c_str());
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("kcat failed (status " + std::to_string(status) + "): " + command +
                                 "\n" + read_file(errors));
    }
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
    run_kcat(command, errors);
}

std::vector<KcatRecord> kcat_consume(const std::string& brokers, const std::string& topic) {
    TempDir dir("pgtrail-it-kcat");
    const auto output = dir.path() / "output";
    const auto errors = dir.path() / "stderr";
    const std::string command = "kcat -b " + shell_quoted(brokers) + " -t " + shell_quoted(topic) +
                                " -C -e -q -f '%p\\t%k\\t%s\\n' > " +
                                shell_quoted(output.string()) + " 2> " +
                                shell_quoted(errors.string());
    run_kcat(command, errors);
    std::vector<KcatRecord> records;
    std::ifstream in(output, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find('\t');
        const auto second = line.find('\t', first + 1);
        if (first == std::string::npos || second == std::string::npos)
            throw std::runtime_error("kcat printed an unexpected line: " + line);
        records.push_back({std::stoi(line.substr(0, first)),
                           line.substr(first + 1, second - first - 1), line.substr(second + 1)});
    }
    return records;
}

}  // namespace pgtrail::it
