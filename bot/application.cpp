#include "bot/application.hpp"

#include "bot/config.hpp"
#include "bot/console.hpp"
#include "bot/console_renderer.hpp"
#include "bot/group_commit.hpp"
#include "bot/metrics.hpp"
#include "bot/modules.hpp"
#include "bot/operations.hpp"
#include "bot/outbox_pump.hpp"
#include "bot/scheduler.hpp"
#include "commands/policy.hpp"
#include "commands/time_text.hpp"
#include "integrations/net/http_server.hpp"
#include "storage/checkpointer.hpp"
#include "storage/migrations.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <iostream>

namespace asio = boost::asio;

namespace releasebot::bot {

namespace {

std::chrono::sys_seconds system_now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
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
    const bool daemon = options.mode == "run";

    auto db = storage::database::open(config.database);
    storage::migrate(db);
    storage::checkpointer checkpoints{db, config.database};
    metrics stats;
    describe_metrics(stats, db);

    commands::engine engine{db, rules,
                            {config.admins, config.default_time_zone, config.release_channels, trusted_sources(config),
                             configured_pipelines(config, rules)}};
    dispatcher dispatch{db, engine, system_now};
    dispatch.count_in(stats);

    // Declared before everything that owns timers or sockets, which must go while it exists.
    asio::io_context loop{1};
    scheduler timers{db, engine, system_now};
    timers.count_firings_in(stats);
    group_commit commits{loop.get_executor(), dispatch};
    integrations::net::http_router routes;
    std::vector<std::unique_ptr<outbox_pump>> pumps;
    const auto deliver_soon = [&pumps] {
      for (auto& pump : pumps) pump->poke();
    };
    reply_ledger replies{db, loop.get_executor()};
    module_context context{loop.get_executor(), db, routes, stats,
                           [&commits](inbound event) { return commits.submit(std::move(event)); },
                           [&timers, &deliver_soon] {
                             timers.poke();
                             deliver_soon();
                           },
                           replies};

    // Platforms are `run`'s: the console is a conversation on the terminal only.
    std::vector<std::unique_ptr<platform_module>> modules;
    if (daemon) {
      try {
        modules = configured_modules(config, context);
      } catch (const config_error& error) {
        std::cerr << "releasebot: " << error.what() << '\n';
        return 2;
      }
      if (modules.empty()) std::cerr << "releasebot: " << no_modules_hint() << '\n';
    }

    std::string user = options.as_user;
    if (user.empty()) user = config.admins.empty() ? "console" : config.admins.front();
    if (!user.empty() && user.front() == '@') user.erase(0, 1);
    const bool interactive = ::isatty(STDIN_FILENO) != 0;

    console_channel console_out{std::cout};
    pumps.push_back(std::make_unique<outbox_pump>(loop.get_executor(), db, console_out, &stats));
    auto& console_pump = *pumps.back();
    for (auto& module : modules) {
      if (auto* channel = module->delivery()) {
        pumps.push_back(std::make_unique<outbox_pump>(loop.get_executor(), db, *channel, &stats));
      }
    }
    for (auto& pump : pumps) pump->on_queued(deliver_soon);
    console_session session{dispatch, console_pump, {user, options.time_zone, interactive}, std::cout};
    // A command may leave work for any platform (a pipeline to start, a DM to a Slack user).
    session.on_command([&timers, &deliver_soon] {
      timers.poke();
      deliver_soon();
    });

    std::unique_ptr<integrations::net::http_server> server;
    if (daemon && !config.http_listen.empty()) {
      add_operations_routes(routes, db, stats, modules);
      integrations::net::server_settings http;
      http.listen = config.http_listen;
      http.tls_certificate = config.http_tls_certificate;
      http.tls_private_key = config.http_tls_private_key;
      server = std::make_unique<integrations::net::http_server>(loop.get_executor(), http, routes);
      spdlog::info("http: listening on {}://{}:{}", server->tls() ? "https" : "http",
                   config.http_listen.substr(0, config.http_listen.rfind(':')), server->port());
    }
    if (interactive) {
      const bool admin = std::find(config.admins.begin(), config.admins.end(), user) != config.admins.end();
      std::cout << "releasebot " << RELEASEBOT_VERSION << " — console on " << config.database.string()
                << " (policy " << config.policy_file.string() << ")\n"
                << "You are " << user << (admin ? " (admin)" : "") << ". /as NAME switches, /quit leaves, help lists commands.\n";
    }

    asio::signal_set signals{loop, SIGINT, SIGTERM};
    asio::signal_set reload{loop, SIGHUP};
    asio::steady_timer shutdown_deadline{loop};
    bool shutting_down = false;
    int exit_code = 0;
    // Two phases: ask everything to finish (in-flight envelopes are acked, sockets closed
    // politely), then stop the loop if that has not happened within a bound.
    const auto shut_down = [&] {
      if (shutting_down) return;
      shutting_down = true;
      timers.stop();
      for (auto& module : modules) module->stop();
      for (auto& pump : pumps) pump->stop();
      if (server) server->stop();
      signals.cancel();
      reload.cancel();
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
    std::function<void(const boost::system::error_code&, int)> on_reload = [&](const boost::system::error_code& error, int) {
      if (error) return;
      if (server && server->tls()) {
        if (const auto problem = server->reload_tls(); problem.empty()) {
          spdlog::info("http: TLS certificate reloaded");
        } else {
          spdlog::error("http: TLS certificate not reloaded, keeping the old one: {}", problem);
        }
      }
      reload.async_wait(on_reload);
    };
    reload.async_wait(on_reload);

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
    for (auto& pump : pumps) {
      ++running;
      asio::co_spawn(loop, pump->run(), [&, name = pump->platform()](std::exception_ptr failure) {
        log_failure(name + " outbox", failure);
        finished();
      });
    }
    ++running;
    asio::co_spawn(loop, timers.run(deliver_soon), [&](std::exception_ptr failure) {
      log_failure("scheduler", failure);
      finished();
    });
    if (server) {
      ++running;
      asio::co_spawn(loop, server->run(), [&](std::exception_ptr failure) {
        log_failure("http", failure);
        if (failure) {
          exit_code = 1;
          shut_down();
        }
        finished();
      });
    }
    for (auto& module : modules) {
      ++running;
      asio::co_spawn(loop, module->run(), [&, name = std::string{module->name()}](std::exception_ptr failure,
                                                                                 std::string problem) {
        log_failure(name, failure);
        if (!problem.empty()) std::cerr << "releasebot: " << problem << '\n';
        // A platform that stops by itself (a refused token) stops the bot: run under a supervisor.
        if (failure || !problem.empty()) exit_code = 1;
        shut_down();
        finished();
      });
    }
    ++running;
    asio::co_spawn(loop, session.run(), [&](std::exception_ptr failure) {
      log_failure("console", failure);
      // `run` is the daemon: it keeps serving when standard input ends (under systemd it is
      // /dev/null). `console` is a conversation: it ends with its input.
      if (!daemon || interactive || failure) shut_down();
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
