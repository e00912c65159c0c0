#include "harness/pgbench.hpp"

#include <fstream>
#include <stdexcept>

#include "harness/pg_cluster.hpp"

namespace pgtrail::it {
namespace {

std::int64_t summary_number(const Program& pgbench, const std::string& label) {
    const std::string out = pgbench.out();
    const auto at = out.find(label);
    if (at == std::string::npos) return -1;
    return std::stoll(out.substr(at + label.size()));
}

}  // namespace

Program start_pgbench(TestEnv& env, const std::string& url, const std::string& script,
                      const Args& options) {
    static int next_script = 1;
    const auto path = env.log_dir() / ("pgbench-" + std::to_string(next_script++) + ".sql");
    {
        std::ofstream out(path);
        out << script;
        if (!out) throw std::runtime_error("cannot write " + path.string());
    }
    Args args{"-n", "-f", path.string()};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(url);
    const std::string binary = (postgres_bin_dir() / "pgbench").string();
    return env.start(binary.c_str(), args);
}

std::int64_t pgbench_transactions(const Program& pgbench) {
    return summary_number(pgbench, "number of transactions actually processed: ");
}

std::int64_t pgbench_failures(const Program& pgbench) {
    return summary_number(pgbench, "number of failed transactions: ");
}

}  // namespace pgtrail::it
