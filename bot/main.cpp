// releasebot: run releases from chat. See README.md.
#include "bot/application.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

int main(int argc, char** argv) {
  CLI::App app{"releasebot — run your release process from Slack, Teams or the terminal"};
  app.set_version_flag("--version", std::string{"releasebot "} + RELEASEBOT_VERSION);
  app.require_subcommand(1);

  releasebot::bot::application_options options;
  std::string log_level = "warn";
  const auto add_common = [&](CLI::App* command) {
    command->add_option("--config", options.config_path, "configuration file (default: deploy/releasebot.toml)");
    command->add_option("--db", options.database_path, "SQLite database file (default: from the config, releasebot.db)");
    command->add_option("--tz", options.time_zone, "your time zone for times you type and read (IANA name)");
    command->add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  };
  auto* console = app.add_subcommand("console", "talk to the bot in this terminal");
  console->add_option("--as", options.as_user, "act as this user id (default: the first admin in the config)");
  add_common(console);
  auto* run = app.add_subcommand("run", "connect to the configured platforms (with none, serve the console)");
  run->add_option("--as", options.as_user, "the console user when no platform is configured");
  add_common(run);

  CLI11_PARSE(app, argc, argv);
  options.mode = console->parsed() ? "console" : "run";
  options.executable = std::filesystem::path{"/proc/self/exe"};
  std::error_code ignored;
  if (auto resolved = std::filesystem::read_symlink("/proc/self/exe", ignored); !ignored) options.executable = resolved;

  auto logger = spdlog::stderr_color_mt("releasebot");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));
  return releasebot::bot::run_application(options);
}
