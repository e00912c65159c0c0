#pragma once

#include "harness/dev_broker.hpp"
#include "harness/pg_cluster.hpp"

namespace pgtrail::it {

// What every test case of a binary shares because it is slow to create: a source and a
// destination cluster and a broker. Test cases isolate themselves with their own databases,
// topics and consumer group (TestEnv).
struct Services {
    TempPgCluster source{"source"};
    TempPgCluster dest{"dest"};
    DevBroker broker;
};

// Created on first use, on the main thread, and torn down at exit.
Services& services();

}  // namespace pgtrail::it
