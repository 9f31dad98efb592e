#include "bot/modules.hpp"

#include "integrations/slack/slack_app.hpp"
#include "integrations/teams/teams_app.hpp"
#include "integrations/webhooks/pipeline_runner.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"
#include "integrations/webhooks/webhook_app.hpp"

#include <algorithm>
#include <cstdlib>

namespace releasebot::bot {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string{} : std::string{value};
}

struct module_kind {
  std::string_view name;
  std::vector<const char*> required;  // all set: configured; some set: a mistake
  std::string_view hint;              // what to set, for the operator
  std::unique_ptr<platform_module> (*make)(const configuration&, module_context&);
};

std::unique_ptr<platform_module> make_slack(const configuration& config, module_context& context) {
  integrations::slack::slack_settings settings;
  settings.app_token = env("SLACK_APP_TOKEN");
  settings.bot_token = env("SLACK_BOT_TOKEN");
  if (const auto api = env("SLACK_API_URL"); !api.empty()) settings.api_url = api;
  settings.socket.idle_timeout = config.slack_idle_timeout;
  return std::make_unique<integrations::slack::slack_app>(context, std::move(settings));
}

std::unique_ptr<platform_module> make_teams(const configuration& config, module_context& context) {
  integrations::teams::teams_settings settings;
  settings.app_id = env("MICROSOFT_APP_ID");
  settings.app_password = env("MICROSOFT_APP_PASSWORD");
  settings.tenant_id = env("MICROSOFT_APP_TENANT_ID");
  settings.openid_metadata_url = config.teams_openid_metadata_url;
  settings.token_url = config.teams_token_url;
  settings.allowed_tenants = config.teams_allowed_tenants;
  settings.allowed_service_hosts = config.teams_allowed_service_hosts;
  return std::make_unique<integrations::teams::teams_app>(context, std::move(settings));
}

const std::vector<module_kind>& module_kinds() {
  static const std::vector<module_kind> kinds{
      {"slack", {"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"}, "SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN (xoxb-…)", make_slack},
      {"teams",
       {"MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"},
       "MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID (a single-tenant app)",
       make_teams},
  };
  return kinds;
}

// The HMAC key of a Standard Webhooks secret read from `variable`, or the fix.
std::string whsec_key(const std::string& secret, const std::string& variable) {
  const auto key = integrations::webhooks::secret_key(secret);
  if (!key) {
    throw config_error{variable + " is not a whsec_… secret (whsec_ followed by base64) — generate one with: "
                       "echo whsec_$(openssl rand -base64 32)"};
  }
  return *key;
}

}  // namespace

std::vector<std::unique_ptr<platform_module>> configured_modules(const configuration& config, module_context& context) {
  std::vector<std::unique_ptr<platform_module>> modules;
  for (const auto& kind : module_kinds()) {
    std::size_t present = 0;
    for (const auto* name : kind.required) present += env(name).empty() ? 0 : 1;
    if (present == 0) continue;
    if (present < kind.required.size()) {
      throw config_error{std::string{kind.name} + " needs " + std::string{kind.hint} + " in the environment"};
    }
    modules.push_back(kind.make(config, context));
  }
  if (!config.webhooks.empty()) {
    std::vector<integrations::webhooks::source_settings> sources;
    for (const auto& hook : config.webhooks) {
      namespace hooks = integrations::webhooks;
      const auto secret = env(hook.secret_env.c_str());
      const bool generic = hook.kind == "generic";
      if (secret.empty()) {
        throw config_error{"webhooks." + hook.name + " needs its secret in the environment variable " + hook.secret_env +
                           (generic ? " (whsec_ followed by base64, as Standard Webhooks secrets are)"
                                    : " (the secret set on the webhook in " +
                                          std::string{hook.kind == "github" ? "GitHub" : "GitLab"} + ")")};
      }
      hooks::source_settings source;
      source.name = hook.name;
      source.display_name = hook.display_name;
      source.key = secret;
      source.environments = hook.environments;
      source.kind = *hooks::source_kind_named(hook.kind);
      if (generic) {
        source.key = whsec_key(secret, hook.secret_env);
      } else {
        source.workflows = hook.workflows;
        source.version_from = hook.version_from;
        source.environment_from = hook.environment_from;
      }
      sources.push_back(std::move(source));
    }
    modules.push_back(std::make_unique<integrations::webhooks::webhook_app>(context, std::move(sources)));
  }
  if (!config.pipelines.empty()) {
    namespace hooks = integrations::webhooks;
    std::vector<hooks::pipeline_target> targets;
    for (const auto& pipeline : config.pipelines) {
      hooks::pipeline_target target;
      target.environment = pipeline.environment;
      target.kind = *hooks::source_kind_named(pipeline.kind);
      target.display_name = pipeline.display_name;
      target.url = pipeline.url;
      target.project = pipeline.project;
      target.workflow = pipeline.workflow;
      target.ref = pipeline.ref;
      target.token_env = pipeline.secret_env;
      target.token = env(pipeline.secret_env.c_str());
      if (target.token.empty()) {
        throw config_error{"pipelines." + pipeline.environment + " needs its " +
                           (pipeline.kind == "generic" ? "whsec_… secret" : "token") + " in the environment variable " +
                           pipeline.secret_env};
      }
      if (target.kind == hooks::source_kind::generic) target.token = whsec_key(target.token, pipeline.secret_env);
      targets.push_back(std::move(target));
    }
    modules.push_back(std::make_unique<hooks::pipeline_runner>(context, std::move(targets)));
  }
  return modules;
}

std::map<std::string, std::string, std::less<>> configured_pipelines(const configuration& config,
                                                                     const commands::policy& rules) {
  std::map<std::string, std::string, std::less<>> pipelines;
  for (const auto& pipeline : config.pipelines) {
    if (std::find(rules.environments.begin(), rules.environments.end(), pipeline.environment) == rules.environments.end()) {
      std::string known;
      for (const auto& environment : rules.environments) known += (known.empty() ? "" : ", ") + environment;
      throw config_error{config.source.string() + ": pipelines." + pipeline.environment +
                         " is not an environment of the policy (" + known + ")"};
    }
    pipelines[pipeline.environment] = pipeline.display_name;
  }
  return pipelines;
}

std::map<std::string, commands::trusted_source, std::less<>> trusted_sources(const configuration& config) {
  std::map<std::string, commands::trusted_source, std::less<>> sources;
  for (const auto& hook : config.webhooks) sources["webhook:" + hook.name] = {hook.display_name, {"deploy"}};
  return sources;
}

std::string no_modules_hint() {
  std::string text = "no platform credentials (";
  bool first = true;
  for (const auto& kind : module_kinds()) {
    text += (first ? "" : "; ") + std::string{kind.name} + ": " + std::string{kind.hint};
    first = false;
  }
  return text + ") — serving the console only";
}

}  // namespace releasebot::bot
