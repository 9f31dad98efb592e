#include "bot/application.hpp"

#include "bot/config.hpp"
#include "bot/console.hpp"
#include "bot/group_commit.hpp"
#include "bot/scheduler.hpp"
#include "integrations/slack/slack_app.hpp"
#include "integrations/teams/teams_app.hpp"
#include "commands/policy.hpp"
#include "commands/time_text.hpp"
#include "storage/checkpointer.hpp"
#include "storage/migrations.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;

namespace releasebot::bot {

namespace {

bool has_env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

}  // namespace

int run_application(const application_options& options) {
  try {
    const auto config_file = find_configuration(options.config_path, options.executable);
    auto config = load_configuration(config_file);
    if (!options.database_path.empty()) config.database = options.database_path;
    const auto rules = commands::load_policy(config.policy_file);
    if (!options.time_zone.empty() && !commands::is_known_zone(options.time_zone)) {
      std::cerr << "releasebot: unknown time zone '" << options.time_zone << "' — use an IANA name like Australia/Adelaide\n";
      return 2;
    }

    auto db = storage::database::open(config.database);
    storage::migrate(db);
    storage::checkpointer checkpoints{db, config.database};

    commands::engine engine{db, rules, {config.admins, config.default_time_zone, config.release_channels}};
    dispatcher dispatch{db, engine, [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }};

    std::optional<integrations::slack::slack_settings> slack;
    std::optional<integrations::teams::teams_settings> teams_settings;
    if (options.mode == "run") {
      const bool teams = has_env("MICROSOFT_APP_ID") && has_env("MICROSOFT_APP_PASSWORD");
      if (teams) {
        if (!has_env("MICROSOFT_APP_TENANT_ID")) {
          std::cerr << "releasebot: Teams needs MICROSOFT_APP_TENANT_ID too (a single-tenant app)\n";
          return 2;
        }
        teams_settings.emplace();
        teams_settings->app_id = std::getenv("MICROSOFT_APP_ID");
        teams_settings->app_password = std::getenv("MICROSOFT_APP_PASSWORD");
        teams_settings->tenant_id = std::getenv("MICROSOFT_APP_TENANT_ID");
        teams_settings->openid_metadata_url = config.teams_openid_metadata_url;
        teams_settings->token_url = config.teams_token_url;
        teams_settings->allowed_tenants = config.teams_allowed_tenants;
        teams_settings->allowed_service_hosts = config.teams_allowed_service_hosts;
        teams_settings->listen = config.http_listen;
      }
      if (has_env("SLACK_APP_TOKEN") && has_env("SLACK_BOT_TOKEN")) {
        slack.emplace();
        slack->app_token = std::getenv("SLACK_APP_TOKEN");
        slack->bot_token = std::getenv("SLACK_BOT_TOKEN");
        if (has_env("SLACK_API_URL")) slack->api_url = std::getenv("SLACK_API_URL");
        slack->socket.idle_timeout = config.slack_idle_timeout;
      } else if (has_env("SLACK_APP_TOKEN") || has_env("SLACK_BOT_TOKEN")) {
        std::cerr << "releasebot: Slack needs both SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN (xoxb-…)\n";
        return 2;
      }
      if (!slack && !teams) {
        std::cerr << "releasebot: no Slack (SLACK_APP_TOKEN, SLACK_BOT_TOKEN) or Teams (MICROSOFT_APP_ID, "
                     "MICROSOFT_APP_PASSWORD) credentials — serving the console only\n";
      }
    }

    std::string user = options.as_user;
    if (user.empty()) user = config.admins.empty() ? "console" : config.admins.front();
    if (!user.empty() && user.front() == '@') user.erase(0, 1);
    const bool interactive = ::isatty(STDIN_FILENO) != 0;

    console_outbox_printer printer{db, std::cout};
    console_session session{dispatch, printer, {user, options.time_zone, interactive}, std::cout};
    if (interactive) {
      const bool admin = std::find(config.admins.begin(), config.admins.end(), user) != config.admins.end();
      std::cout << "releasebot " << RELEASEBOT_VERSION << " — console on " << config.database.string()
                << " (policy " << config.policy_file.string() << ")\n"
                << "You are " << user << (admin ? " (admin)" : "") << ". /as NAME switches, /quit leaves, help lists commands.\n";
    }
    // Anything left undelivered by an earlier run goes out first.
    printer.deliver_pending(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));

    const auto system_now = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
    // Declared before the scheduler, whose timer must be destroyed while the loop still exists.
    asio::io_context loop{1};
    scheduler timers{db, engine, system_now};
    session.on_command([&timers] { timers.poke(); });
    // `run` is the daemon: it keeps its timers going when standard input ends (under systemd it
    // is /dev/null). `console` is a conversation: it ends with its input.
    const bool serve_after_input = options.mode == "run";

    group_commit commits{loop.get_executor(), dispatch};
    std::unique_ptr<integrations::slack::slack_app> slack_app;
    std::unique_ptr<integrations::teams::teams_app> teams_app;
    int exit_code = 0;
    if (teams_settings) {
      teams_app = std::make_unique<integrations::teams::teams_app>(
          loop.get_executor(), db, [&dispatch](const inbound& event) { return dispatch.dispatch(event); },
          [&timers] { timers.poke(); }, *teams_settings);
    }
    if (slack) {
      slack_app = std::make_unique<integrations::slack::slack_app>(
          loop.get_executor(), db, [&commits](inbound event) { return commits.submit(std::move(event)); },
          [&timers] { timers.poke(); }, *slack);
    }

    asio::signal_set signals{loop, SIGINT, SIGTERM};
    asio::steady_timer shutdown_deadline{loop};
    bool shutting_down = false;
    // Two phases: ask everything to finish (in-flight envelopes are acked, sockets closed
    // politely), then stop the loop if that has not happened within a bound.
    const auto shut_down = [&] {
      if (shutting_down) return;
      shutting_down = true;
      timers.stop();
      if (slack_app) slack_app->stop();
      if (teams_app) teams_app->stop();
      signals.cancel();
      shutdown_deadline.expires_after(std::chrono::seconds{3});
      shutdown_deadline.async_wait([&loop](const boost::system::error_code& error) {
        if (!error) loop.stop();
      });
    };
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      spdlog::info("signal {} — finishing", signal);
      shut_down();
    });
    const auto log_failure = [](std::string_view what, std::exception_ptr failure) {
      if (!failure) return;
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        spdlog::error("{} stopped: {}", what, error.what());
      }
    };
    // The loop ends when every component has finished; the deadline only forces a stuck one.
    int running = 0;
    const auto finished = [&] {
      if (--running == 0) shutdown_deadline.cancel();
    };
    const auto after_firing = [&] {
      printer.deliver_pending(system_now());
      if (slack_app) slack_app->deliver_soon();
      if (teams_app) teams_app->deliver_soon();
    };
    ++running;
    asio::co_spawn(loop, timers.run(after_firing), [&](std::exception_ptr failure) {
      log_failure("scheduler", failure);
      finished();
    });
    if (slack_app) {
      ++running;
      asio::co_spawn(loop, slack_app->run(), [&](std::exception_ptr failure, std::string problem) {
        log_failure("slack", failure);
        if (!problem.empty()) {
          std::cerr << "releasebot: " << problem << '\n';
          exit_code = 1;
        }
        if (failure) exit_code = 1;
        shut_down();
        finished();
      });
    }
    if (teams_app) {
      ++running;
      asio::co_spawn(loop, teams_app->run(), [&](std::exception_ptr failure) {
        log_failure("teams", failure);
        if (failure) {
          exit_code = 1;
          shut_down();
        }
        finished();
      });
    }
    ++running;
    asio::co_spawn(loop, session.run(), [&](std::exception_ptr failure) {
      log_failure("console", failure);
      if (!serve_after_input || interactive || failure) shut_down();
      finished();
    });
    loop.run();
    shutdown_deadline.cancel();
    return exit_code;
  } catch (const config_error& error) {
    std::cerr << "releasebot: configuration: " << error.what() << '\n';
  } catch (const commands::policy_error& error) {
    std::cerr << "releasebot: policy: " << error.what() << '\n';
  } catch (const storage::database_error& error) {
    std::cerr << "releasebot: database: " << error.what() << '\n';
  } catch (const std::exception& error) {
    std::cerr << "releasebot: " << error.what() << '\n';
  }
  return 1;
}

}  // namespace releasebot::bot
