#include "bot/config.hpp"

#include "commands/time_text.hpp"
#include "integrations/webhooks/pipeline_event.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace releasebot::bot {

namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const toml::source_region& where, std::string_view key,
                       std::string_view problem) {
  throw config_error{file.string() + ":" + std::to_string(where.begin.line) + ": " + std::string{key} + ": " +
                     std::string{problem}};
}

std::string read_string(const std::filesystem::path& file, const toml::table& table, std::string_view table_name,
                        std::string_view key, std::string fallback) {
  const auto* node = table.get(key);
  if (node == nullptr) return fallback;
  const auto* value = node->as_string();
  if (value == nullptr) fail(file, node->source(), std::string{table_name} + "." + std::string{key}, "must be a string");
  return value->get();
}

std::vector<std::string> read_strings(const std::filesystem::path& file, const toml::table& table,
                                      std::string_view table_name, std::string_view key,
                                      std::vector<std::string> fallback) {
  const auto* node = table.get(key);
  if (node == nullptr) return fallback;
  const auto* list = node->as_array();
  const auto where = std::string{table_name} + "." + std::string{key};
  if (list == nullptr) fail(file, node->source(), where, "must be a list of strings");
  std::vector<std::string> values;
  for (const auto& item : *list) {
    const auto* text = item.as_string();
    if (text == nullptr || text->get().empty()) fail(file, item.source(), where, "each entry must be a non-empty string");
    values.push_back(text->get());
  }
  return values;
}

void reject_unknown_keys(const std::filesystem::path& file, const toml::table& table, std::string_view table_name,
                         const std::set<std::string_view>& known) {
  for (const auto& [key, node] : table) {
    if (known.count(key.str()) == 0) {
      fail(file, node.source(), std::string{table_name} + (table_name.empty() ? "" : ".") + std::string{key.str()},
           "unknown key — check its spelling against deploy/releasebot.toml");
    }
  }
}

}  // namespace

configuration load_configuration(const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& error) {
    throw config_error{file.string() + ":" + std::to_string(error.source().begin.line) + ": " +
                       std::string{error.description()}};
  }
  configuration config;
  config.source = file;
  reject_unknown_keys(file, root, "", {"bot", "access", "console", "slack", "teams", "http", "webhooks", "pipelines"});
  const auto table_of = [&](std::string_view name) -> const toml::table* {
    const auto* node = root.get(name);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) fail(file, node->source(), name, "must be a table like [" + std::string{name} + "]");
    return node->as_table();
  };
  static const toml::table empty;
  const auto& bot = table_of("bot") ? *table_of("bot") : empty;
  reject_unknown_keys(file, bot, "bot", {"database", "policy", "default_time_zone"});
  config.database = read_string(file, bot, "bot", "database", "releasebot.db");
  // Without [bot] policy the shipped default process applies, found as the shipped configuration
  // is: a hand-written config with only [access] admins is complete.
  if (bot.get("policy") == nullptr) {
    config.policy_file = shipped_policy();
  } else {
    config.policy_file = std::filesystem::absolute(file).parent_path() / read_string(file, bot, "bot", "policy", "");
  }
  config.default_time_zone = read_string(file, bot, "bot", "default_time_zone", "UTC");
  if (!commands::is_known_zone(config.default_time_zone)) {
    fail(file, bot.source(), "bot.default_time_zone",
         "unknown time zone '" + config.default_time_zone + "' — use an IANA name like Australia/Adelaide");
  }
  if (const auto* access = table_of("access")) {
    reject_unknown_keys(file, *access, "access", {"admins"});
    config.admins = read_strings(file, *access, "access", "admins", {});
  }
  for (const auto* platform : {"console", "slack", "teams"}) {
    if (const auto* table = table_of(platform)) {
      if (std::string_view{platform} == "slack") {
        reject_unknown_keys(file, *table, platform, {"release_channel", "idle_timeout_ms"});
        if (const auto* node = table->get("idle_timeout_ms")) {
          const auto* value = node->as_integer();
          if (value == nullptr || value->get() < 1000 || value->get() > 600'000) {
            fail(file, node->source(), "slack.idle_timeout_ms", "must be a number of milliseconds from 1000 to 600000");
          }
          config.slack_idle_timeout = std::chrono::milliseconds{value->get()};
        }
      } else if (std::string_view{platform} == "teams") {
        reject_unknown_keys(file, *table, platform,
                            {"release_channel", "openid_metadata_url", "token_url", "allowed_tenants",
                             "allowed_service_hosts"});
        config.teams_openid_metadata_url =
            read_string(file, *table, "teams", "openid_metadata_url", config.teams_openid_metadata_url);
        config.teams_token_url = read_string(file, *table, "teams", "token_url", "");
        config.teams_allowed_tenants = read_strings(file, *table, "teams", "allowed_tenants", {});
        config.teams_allowed_service_hosts =
            read_strings(file, *table, "teams", "allowed_service_hosts", config.teams_allowed_service_hosts);
      } else {
        reject_unknown_keys(file, *table, platform, {"release_channel"});
      }
      config.release_channels[platform] = read_string(file, *table, platform, "release_channel", "");
    }
  }
  if (const auto* http = table_of("http")) {
    reject_unknown_keys(file, *http, "http", {"listen", "tls_certificate", "tls_private_key"});
    config.http_listen = read_string(file, *http, "http", "listen", config.http_listen);
    const auto folder = std::filesystem::absolute(file).parent_path();
    const auto certificate = read_string(file, *http, "http", "tls_certificate", "");
    const auto key = read_string(file, *http, "http", "tls_private_key", "");
    if (certificate.empty() != key.empty()) {
      fail(file, http->source(), certificate.empty() ? "http.tls_certificate" : "http.tls_private_key",
           "HTTPS needs both tls_certificate and tls_private_key (PEM files) — set both, or neither for plain HTTP");
    }
    if (!certificate.empty()) {
      config.http_tls_certificate = folder / certificate;
      config.http_tls_private_key = folder / key;
    }
  }
  if (const auto* hooks = table_of("webhooks")) {
    for (const auto& [key, node] : *hooks) {
      const std::string name{key.str()};
      const auto where = "webhooks." + name;
      const bool plain_name = !name.empty() && name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
      if (!plain_name) fail(file, node.source(), where, "a source's name is its URL (/hooks/<name>): use a-z, 0-9, - and _");
      const auto* table = node.as_table();
      if (table == nullptr) fail(file, node.source(), where, "must be a table like [" + where + "]");
      reject_unknown_keys(file, *table, where,
                          {"kind", "secret_env", "name", "environments", "workflows", "version_from", "environment_from"});
      webhook_source_config source;
      source.name = name;
      source.kind = read_string(file, *table, where, "kind", "generic");
      static const std::map<std::string, std::string> kinds = {
          {"generic", ""}, {"github", "GitHub Actions"}, {"gitlab", "GitLab CI"}};
      const auto kind = kinds.find(source.kind);
      if (kind == kinds.end()) {
        fail(file, table->source(), where + ".kind",
             "'" + source.kind + "' is not a kind of source I know — use generic, github or gitlab");
      }
      source.secret_env = read_string(file, *table, where, "secret_env", "");
      if (source.secret_env.empty()) {
        fail(file, table->source(), where + ".secret_env",
             "name the environment variable that holds its secret, like secret_env = \"RELEASE_SCRIPT_SECRET\"");
      }
      if (source.kind != "generic") {
        source.workflows = read_strings(file, *table, where, "workflows", {});
        source.version_from = read_string(file, *table, where, "version_from", source.version_from);
        source.environment_from = read_string(file, *table, where, "environment_from", source.environment_from);
        const auto forge = *integrations::webhooks::source_kind_named(source.kind);
        if (const auto problem = integrations::webhooks::mapping_problem(forge, source.version_from, false);
            !problem.empty()) {
          fail(file, table->source(), where + ".version_from", problem);
        }
        if (const auto problem = integrations::webhooks::mapping_problem(forge, source.environment_from, true);
            !problem.empty()) {
          fail(file, table->source(), where + ".environment_from", problem);
        }
      } else {
        for (const auto* forge_only : {"workflows", "version_from", "environment_from"}) {
          if (const auto* node = table->get(forge_only)) {
            fail(file, node->source(), where + "." + forge_only,
                 "is for kind = \"github\" or \"gitlab\"; a generic source's body names its release and environment");
          }
        }
      }
      source.display_name = read_string(file, *table, where, "name", kind->second.empty() ? name : kind->second);
      if (const auto* mapping = table->get("environments")) {
        const auto* environments = mapping->as_table();
        if (environments == nullptr) {
          fail(file, mapping->source(), where + ".environments", "must be a table of names, like staging = \"uat\"");
        }
        for (const auto& [from, to] : *environments) {
          const auto* target = to.as_string();
          if (target == nullptr || target->get().empty()) {
            fail(file, to.source(), where + ".environments." + std::string{from.str()}, "must name a policy environment");
          }
          source.environments[std::string{from.str()}] = target->get();
        }
      }
      config.webhooks.push_back(std::move(source));
    }
  }
  if (const auto* pipelines = table_of("pipelines")) {
    for (const auto& [key, node] : *pipelines) {
      pipeline_config pipeline;
      pipeline.environment = std::string{key.str()};
      const auto where = "pipelines." + pipeline.environment;
      const auto* table = node.as_table();
      if (table == nullptr) fail(file, node.source(), where, "must be a table like [" + where + "]");
      pipeline.kind = read_string(file, *table, where, "kind", "");
      const auto required = [&](const char* name, const std::string& example) {
        auto value = read_string(file, *table, where, name, "");
        if (value.empty()) fail(file, table->source(), where + "." + name, "is required, like " + std::string{name} + " = " + example);
        return value;
      };
      if (pipeline.kind == "github") {
        reject_unknown_keys(file, *table, where, {"kind", "name", "repository", "workflow", "ref", "token_env", "api_url"});
        pipeline.display_name = read_string(file, *table, where, "name", "GitHub Actions");
        pipeline.project = required("repository", "\"acme/shop\"");
        if (std::count(pipeline.project.begin(), pipeline.project.end(), '/') != 1) {
          fail(file, table->source(), where + ".repository", "must be owner/name, like \"acme/shop\"");
        }
        pipeline.workflow = required("workflow", "\"deploy.yml\" (its file under .github/workflows)");
        pipeline.secret_env = required("token_env", "\"GITHUB_TOKEN\" (a token that may run the workflow)");
        pipeline.url = read_string(file, *table, where, "api_url", "https://api.github.com");
      } else if (pipeline.kind == "gitlab") {
        reject_unknown_keys(file, *table, where, {"kind", "name", "project", "ref", "token_env", "url"});
        pipeline.display_name = read_string(file, *table, where, "name", "GitLab CI");
        pipeline.project = required("project", "\"acme/shop\" (or its numeric id)");
        pipeline.secret_env = required("token_env", "\"GITLAB_TRIGGER_TOKEN\" (a pipeline trigger token)");
        pipeline.url = read_string(file, *table, where, "url", "https://gitlab.com");
      } else if (pipeline.kind == "generic") {
        reject_unknown_keys(file, *table, where, {"kind", "name", "url", "secret_env"});
        pipeline.display_name = read_string(file, *table, where, "name", "the release script");
        pipeline.url = required("url", "\"https://ci.example.com/release\"");
        pipeline.secret_env = required("secret_env", "\"RELEASE_SCRIPT_SECRET\" (whsec_…, to sign the request)");
      } else {
        fail(file, table->source(), where + ".kind",
             (pipeline.kind.empty() ? std::string{"is required"} : "'" + pipeline.kind + "' is not a kind I can start") +
                 " — use github (workflow_dispatch), gitlab (a pipeline trigger) or generic (a signed POST)");
      }
      pipeline.ref = read_string(file, *table, where, "ref", pipeline.ref);
      // Tokens and signatures go only over TLS; plain HTTP only to this machine.
      const bool loopback = pipeline.url.starts_with("http://127.0.0.1") || pipeline.url.starts_with("http://localhost") ||
                            pipeline.url.starts_with("http://[::1]");
      if (!pipeline.url.starts_with("https://") && !loopback) {
        fail(file, table->source(), where, "'" + pipeline.url + "' is not an https:// URL (its token would travel in clear)");
      }
      config.pipelines.push_back(std::move(pipeline));
    }
  }
  return config;
}

std::filesystem::path shipped_policy() {
  std::error_code ignored;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", ignored);
  const std::filesystem::path candidates[] = {
      "deploy/policy.toml",
      executable.parent_path() / "../share/releasebot/policy.toml",
      std::filesystem::path{RELEASEBOT_SOURCE_DIR} / "deploy/policy.toml",
  };
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate, ignored)) return std::filesystem::absolute(candidate, ignored);
  }
  // Not found: named as the shipped one, so that the policy error says what is missing.
  return std::filesystem::path{RELEASEBOT_SOURCE_DIR} / "deploy/policy.toml";
}

std::filesystem::path find_configuration(const std::string& explicit_path, const std::filesystem::path& executable) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* from_env = std::getenv("RELEASEBOT_CONFIG"); from_env != nullptr && *from_env != '\0') {
    return from_env;
  }
  const std::filesystem::path candidates[] = {
      "deploy/releasebot.toml",
      executable.parent_path() / "../share/releasebot/releasebot.toml",
      std::filesystem::path{RELEASEBOT_SOURCE_DIR} / "deploy/releasebot.toml",
  };
  for (const auto& candidate : candidates) {
    std::error_code ignored;
    if (std::filesystem::is_regular_file(candidate, ignored)) return candidate;
  }
  throw config_error{"no configuration found — pass --config FILE (the shipped one is deploy/releasebot.toml)"};
}

}  // namespace releasebot::bot
