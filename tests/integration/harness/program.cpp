#include "harness/program.hpp"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pgtrail::it {
namespace {

SpawnSpec program_spec(const std::string& name, const std::filesystem::path& binary,
                       std::vector<std::string> args, const std::filesystem::path& log_dir,
                       const std::vector<std::string>& extra_env) {
    SpawnSpec spec;
    spec.argv.push_back(binary.string());
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = inherited_env();
    spec.env.insert(spec.env.end(), extra_env.begin(), extra_env.end());
    spec.working_dir = log_dir;
    spec.stdout_path = log_dir / (name + ".out");
    spec.stderr_path = log_dir / (name + ".err");
    return spec;
}

std::string join_command(const std::filesystem::path& binary,
                         const std::vector<std::string>& args) {
    std::string line = binary.filename().string();
    for (const auto& a : args) line += " " + a;
    return line;
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

std::string tail(const std::string& text, std::size_t max_lines) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t lines = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++lines == max_lines) break;
    }
    return pos == 0 ? text : "[...]\n" + text.substr(pos);
}

std::string program_log(const std::filesystem::path& log_dir, const std::string& name,
                        const std::string& command_line) {
    return "---- " + name + ": " + command_line + "\n---- stdout:\n" +
           tail(read_file(log_dir / (name + ".out")), 40) + "\n---- stderr:\n" +
           tail(read_file(log_dir / (name + ".err")), 80) + "\n";
}

Program::Program(std::string name, const std::filesystem::path& binary,
                 std::vector<std::string> args, const std::filesystem::path& log_dir,
                 const std::vector<std::string>& extra_env)
    : name_(std::move(name)),
      command_line_(join_command(binary, args)),
      log_dir_(log_dir),
      process_(program_spec(name_, binary, std::move(args), log_dir, extra_env)) {}

int Program::wait(std::chrono::milliseconds timeout) {
    if (auto code = process_.wait_for(timeout)) return *code;
    process_.kill_and_wait();
    throw std::runtime_error(name_ + " did not exit within " + std::to_string(timeout.count()) +
                             " ms and was killed\n" + log());
}

int Program::stop(std::chrono::milliseconds timeout) {
    process_.send(SIGTERM);
    return wait(timeout);
}

int Program::kill() { return process_.kill_and_wait(); }

bool Program::logged(const std::string& text) const {
    return err().find(text) != std::string::npos;
}

std::string Program::out() const { return read_file(log_dir_ / (name_ + ".out")); }
std::string Program::err() const { return read_file(log_dir_ / (name_ + ".err")); }
std::string Program::log() const { return program_log(log_dir_, name_, command_line_); }

std::vector<std::string> output_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace pgtrail::it
