// The platform modules the bot can run, and which of them the environment configures.
#pragma once

#include "bot/config.hpp"
#include "bot/module.hpp"
#include "commands/engine.hpp"

#include <map>
#include <memory>
#include <vector>

namespace releasebot::bot {

// Every module whose credentials are in the environment, built with the shared context. Throws
// config_error when a module is half configured (one Slack token without the other).
std::vector<std::unique_ptr<platform_module>> configured_modules(const configuration& config, module_context& context);

// The systems configured to act through the bot (webhook sources) and what they may run, for the
// engine: "webhook:<name>" → its name in messages and its command families.
std::map<std::string, commands::trusted_source, std::less<>> trusted_sources(const configuration& config);

// One line for the operator when no module is configured.
std::string no_modules_hint();

// Environment → the name of the pipeline `deploy <version> <env> run` starts; throws config_error
// when [pipelines.<env>] names no environment of the policy.
std::map<std::string, std::string, std::less<>> configured_pipelines(const configuration& config,
                                                                     const commands::policy& rules);

}  // namespace releasebot::bot
