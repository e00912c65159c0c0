#include "consumer/batch_reducer.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

namespace pgtrail {

std::vector<Change> reduce_batch(std::vector<Change> changes,
                                 const std::function<bool(const TableName&)>& every_change) {
    using RowId = std::pair<const TableName*, std::string_view>;
    auto row_less = [](const RowId& a, const RowId& b) {
        if (*a.first != *b.first) return *a.first < *b.first;
        return a.second < b.second;
    };
    std::map<RowId, std::size_t, decltype(row_less)> newest(row_less);
    std::vector<Change> reduced;
    for (std::size_t i = 0; i < changes.size(); ++i) {
        if (every_change(changes[i].table)) {
            reduced.push_back(std::move(changes[i]));
            continue;
        }
        const auto [slot, inserted] = newest.try_emplace({&changes[i].table, changes[i].key}, i);
        if (!inserted && changes[i].newer_than(changes[slot->second])) slot->second = i;
    }
    reduced.reserve(reduced.size() + newest.size());
    for (const auto& [row, index] : newest) reduced.push_back(std::move(changes[index]));
    return reduced;
}

}  // namespace pgtrail
