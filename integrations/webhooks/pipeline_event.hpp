// What pipelines send, turned into the command a person would type: the generic body (Jenkins,
// release scripts), GitHub's workflow_run and deployment_status events, GitLab's pipeline and
// deployment events. Pure; fuzzed.
#pragma once

#include "commands/command.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace releasebot::integrations::webhooks {

enum class source_kind { generic, github, gitlab };
// The kind a configuration names ("generic", "github", "gitlab"), if it is one.
std::optional<source_kind> source_kind_named(std::string_view name);

struct source_settings {
  std::string name;          // the route: /hooks/<name>
  std::string display_name;  // what announcements say: "started by <display_name>"
  std::string key;           // generic: the HMAC key (from whsec_…); github: the webhook secret; gitlab: the token
  std::map<std::string, std::string> environments;  // the pipeline's environment names → the policy's
  source_kind kind = source_kind::generic;
  // GitHub workflows / GitLab pipelines (by name) whose runs are deployments; empty: any run in
  // which both the version and the environment are found.
  std::vector<std::string> workflows;
  std::string version_from = "tag";        // tag | title | field:<JSON pointer> | variable:<NAME>
  std::string environment_from = "title";  // runs only: title | workflow | field:<JSON pointer> | variable:<NAME>
};

// Why a request cannot be used: 400 for a malformed body, 422 for one that is well-formed but
// names no release or environment the mapping can find.
struct pipeline_problem {
  std::string problem;
  int status = 400;
};
// Well-formed, and nothing to record (a queued run, a push, a workflow that is not a deployment).
struct ignored_event {
  std::string reason;
};

// The generic body: {release, environment, event: started|step|succeeded|failed|rolled_back,
// text, downtime_minutes, build, commit, url} → the deploy command a person would type
// (`deploy 4.2.0 uat step …`), built directly so that no quote in the text can change it, or the
// problem (a 400).
std::variant<commands::deploy_command, pipeline_problem> command_of_pipeline_event(std::string_view body,
                                                                                  const source_settings& source);

using forge_report = std::variant<commands::deploy_command, ignored_event, pipeline_problem>;
// `event` is the X-GitHub-Event header (workflow_run, deployment_status, ping, …).
forge_report command_of_github_event(std::string_view event, std::string_view body, const source_settings& source);
// `event` is the X-Gitlab-Event header (Pipeline Hook, Deployment Hook, …).
forge_report command_of_gitlab_event(std::string_view event, std::string_view body, const source_settings& source);

// The problem with a version_from / environment_from setting for this kind of source, or empty.
std::string mapping_problem(source_kind kind, std::string_view setting, bool for_environment);

}  // namespace releasebot::integrations::webhooks
