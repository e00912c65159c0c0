#pragma once

namespace pgtrail {

// SIGINT/SIGTERM set a flag; long-running loops finish their current batch and return.
void install_shutdown_handlers();
bool shutdown_requested();
void request_shutdown();

}  // namespace pgtrail
