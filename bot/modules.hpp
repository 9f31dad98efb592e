// The platform modules the bot can run, and which of them the environment configures.
#pragma once

#include "bot/config.hpp"
#include "bot/module.hpp"

#include <memory>
#include <vector>

namespace releasebot::bot {

// Every module whose credentials are in the environment, built with the shared context. Throws
// config_error when a module is half configured (one Slack token without the other).
std::vector<std::unique_ptr<platform_module>> configured_modules(const configuration& config, module_context& context);

// One line for the operator when no module is configured.
std::string no_modules_hint();

}  // namespace releasebot::bot
