#include "setup/table_loader.hpp"

#include "common/log.hpp"
#include "common/pqxx_compat.hpp"
#include "common/progress_meter.hpp"
#include "setup/chunk_loader.hpp"
#include "setup/key_ranges.hpp"

namespace pgtrail {
namespace {

using Clock = ProgressMeter::Clock;
constexpr std::chrono::seconds kLineEvery{10};

// The planner's estimate when the table was ever analyzed, else an exact count: the total
// only feeds the ETA.
constexpr const char* kEstimate =
    "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END "
    "FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass";

std::int64_t source_rows(pqxx::connection& source, const TableInfo& table) {
    pqxx::read_transaction tx(source, "count rows");
    const pqxx::row estimate = pq::exec1(tx, kEstimate, table.name.quoted());
    if (!estimate[0].is_null()) return estimate[0].as<std::int64_t>();
    return pq::exec1(tx, "SELECT count(*) FROM " + table.name.quoted())[0].as<std::int64_t>();
}

// Equal sort orders make a key range hold the same keys on both sides.
bool sorted_alike(pqxx::connection& source, pqxx::connection& dest, const TableInfo& table) {
    pqxx::read_transaction stx(source, "key sort order");
    pqxx::read_transaction dtx(dest, "key sort order");
    return key_sort_orders(stx, table) == key_sort_orders(dtx, table);
}

class LoadProgress {
public:
    LoadProgress(const TableName& table, std::int64_t rows_before, std::int64_t total)
        : name_(table.display()),
          rows_(rows_before),
          meter_(kLineEvery, Clock::now()),
          bar_(log::status_line_possible()) {
        meter_.start_total(std::max<std::int64_t>(total - rows_before, 1));
    }
    LoadProgress(const LoadProgress&) = delete;
    LoadProgress& operator=(const LoadProgress&) = delete;
    ~LoadProgress() {
        if (bar_) log::clear_status();
    }

    void chunk_done(std::int64_t rows) {
        const auto now = Clock::now();
        rows_ += rows;
        meter_.add(rows, now);
        if (bar_) {
            log::show_status("load " + name_ + " " + *meter_.bar_update(now, true));
        } else if (meter_.due(now)) {
            const auto interval = meter_.close_interval(now, true);
            log::info("load of ", name_, ": ", rows_, " rows copied, ",
                      format_rate(interval.rate()), meter_.toward_total(now));
        }
    }

private:
    std::string name_;
    std::int64_t rows_;
    ProgressMeter meter_;
    bool bar_;
};

}  // namespace

std::int64_t run_load(pqxx::connection& source, pqxx::connection& dest, const LoadClaim& claim) {
    const TableInfo& table = claim.table;
    const TableName& target = loaded_table(claim);
    if (claim.already_done) {
        log::info("load of ", target.display(), " finished before (", claim.rows_before,
                  " rows); nothing to copy (--force loads it again)");
        return 0;
    }
    std::int64_t total = claim.rows_total.value_or(0);
    if (!claim.rows_total) {
        total = source_rows(source, table);
        pqxx::work tx(dest, "load total");
        record_total(tx, target, total);
        tx.commit();
    }
    if (claim.last_key)
        log::info("load of ", target.display(), ": resuming after ", claim.rows_before,
                  " rows copied by earlier runs");
    else
        log::info("load of ", target.display(), ": copying about ", total, " rows");
    // A ruled load always stages (chunk_loader.hpp), and its tables are named apart.
    const bool direct_allowed = !claim.mapping && sorted_alike(source, dest, table);
    const auto started = Clock::now();
    std::int64_t copied = 0;
    LoadProgress progress(target, claim.rows_before, total);
    std::optional<std::vector<std::string>> after = claim.last_key;
    for (;;) {
        const Chunk chunk =
            load_chunk(source, dest, table, claim.mapping ? &*claim.mapping : nullptr, after,
                       kLoadChunkRows, direct_allowed);
        copied += chunk.rows;
        progress.chunk_done(chunk.rows);
        if (!chunk.upto) break;
        after = chunk.upto;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    log::info("load of ", target.display(), " done: ", copied, " rows copied by this run in ",
              format_tenths(seconds), " s (", format_rate(seconds > 0 ? copied / seconds : 0),
              "), ", claim.rows_before + copied, " in all");
    return copied;
}

}  // namespace pgtrail
