// The bot's configuration: a TOML file for settings, the environment for secrets.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace releasebot::bot {

class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// [webhooks.<name>]: a pipeline that posts signed events to /hooks/<name>.
struct webhook_source_config {
  std::string name;
  std::string kind = "generic";  // generic | github | gitlab
  std::string secret_env;     // the environment variable holding its secret (generic: whsec_…)
  std::string display_name;   // how messages name it; default: the name, "GitHub Actions", "GitLab CI"
  std::map<std::string, std::string> environments;  // its environment names → the policy's
  std::vector<std::string> workflows;  // github/gitlab: the runs that are deployments, by workflow/pipeline name
  std::string version_from = "tag";
  std::string environment_from = "title";
};

// [pipelines.<environment>]: what `deploy <version> <environment> run` starts.
struct pipeline_config {
  std::string environment;
  std::string kind;          // github | gitlab | generic
  std::string display_name;  // default "GitHub Actions", "GitLab CI", "the release script"
  std::string url;           // github: api_url; gitlab: url (the instance); generic: url (the endpoint)
  std::string project;       // github: repository (owner/name); gitlab: project (id or path)
  std::string workflow;      // github: the workflow file
  std::string ref = "main";  // github/gitlab: the branch or tag to run on
  std::string secret_env;    // github/gitlab: token_env; generic: secret_env (whsec_…)
};

struct configuration {
  std::filesystem::path source;         // the file it came from
  std::filesystem::path database = "releasebot.db";
  std::filesystem::path policy_file;    // absolute, resolved against the config file's folder
  std::string default_time_zone = "UTC";
  std::vector<std::string> admins;
  std::map<std::string, std::string> release_channels;  // platform → channel
  std::string http_listen = "127.0.0.1:3978";  // empty: no HTTP server
  std::filesystem::path http_tls_certificate;  // both set: HTTPS, resolved against the config file's folder
  std::filesystem::path http_tls_private_key;
  std::chrono::milliseconds slack_idle_timeout{30'000};  // [slack] idle_timeout_ms
  // [teams]: Microsoft's endpoints (overridable for tests) and the allow-lists.
  std::string teams_openid_metadata_url = "https://login.botframework.com/v1/.well-known/openidconfiguration";
  std::string teams_token_url;  // empty: the tenant's login.microsoftonline.com token endpoint
  std::vector<std::string> teams_allowed_tenants;  // empty: MICROSOFT_APP_TENANT_ID
  std::vector<std::string> teams_allowed_service_hosts{"smba.trafficmanager.net"};
  std::vector<webhook_source_config> webhooks;
  std::vector<pipeline_config> pipelines;
};

// Reads and validates; every problem is a config_error naming the file, the key and the fix.
configuration load_configuration(const std::filesystem::path& file);

// --config, else $RELEASEBOT_CONFIG, else ./deploy/releasebot.toml, the installed copy, the source tree's.
std::filesystem::path find_configuration(const std::string& explicit_path, const std::filesystem::path& executable);
// The shipped default policy (deploy/policy.toml, or share/releasebot/policy.toml beside an
// installed binary): what a configuration without [bot] policy runs.
std::filesystem::path shipped_policy();

}  // namespace releasebot::bot
