#pragma once

namespace pgtrail::it {

// The programs under test, from the build tree (CMake passes their paths).
inline constexpr const char* kDbSetup = PGTRAIL_DB_SETUP;
inline constexpr const char* kDbVerify = PGTRAIL_DB_VERIFY;
inline constexpr const char* kProducer = PGTRAIL_PRODUCER;
inline constexpr const char* kConsumer = PGTRAIL_CONSUMER;

}  // namespace pgtrail::it
