#include "common/source_row.hpp"

namespace pgtrail {

TableName source_row_type(const TableName& source) {
    return {kSourceRowSchema, source.schema + "." + source.name};
}

std::optional<TableInfo> load_source_row(pqxx::transaction_base& tx, const TableName& source,
                                         const std::vector<std::string>& key) {
    std::optional<TableInfo> row = load_table(tx, source_row_type(source));
    if (row) row->pk_columns = key;
    return row;
}

}  // namespace pgtrail
