#pragma once

#include <string>
#include <vector>

namespace pgtrail::it {

// Writes records to one partition of a topic with the kcat command-line tool, the way an
// operator (or a misbehaving client) would, not through pgtrail's code. Each line is
// "key|value"; with null_for_empty, an empty key or value is sent as null (kcat -Z), which
// makes "key|" a compaction tombstone. Lines must not contain newlines. Throws with kcat's
// stderr when it fails.
void kcat_produce(const std::string& brokers, const std::string& topic, int partition,
                  const std::vector<std::string>& lines, bool null_for_empty = false);

// A record as kcat read it.
struct KcatRecord {
    int partition = 0;
    std::string key;
    std::string value;
};

// Reads every record of every partition of a topic with kcat, from the start to the current
// end. Keys and values must not contain tabs or newlines (kcat prints one record a line).
std::vector<KcatRecord> kcat_consume(const std::string& brokers, const std::string& topic);

}  // namespace pgtrail::it
