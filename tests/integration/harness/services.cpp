#include "harness/services.hpp"

namespace pgtrail::it {

Services& services() {
    static Services shared;
    return shared;
}

}  // namespace pgtrail::it
