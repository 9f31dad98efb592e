// GitHub's workflow_run / deployment_status and GitLab's pipeline / deployment events → the
// deploy command. Forges report the same deployment more than once (a run is requested, then in
// progress; a deployment status and its workflow run), so these commands tolerate a repeat.
#include "integrations/net/json_reader.hpp"
#include "integrations/webhooks/event_words.hpp"
#include "integrations/webhooks/pipeline_event.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace releasebot::integrations::webhooks {

namespace {

using nlohmann::json;

// "v4.2.0", "refs/tags/v4.2.0", "release/4.2.0" → "4.2.0"; nullopt when it is no version.
std::optional<std::string> version_in_ref(std::string_view ref) {
  if (const auto slash = ref.rfind('/'); slash != std::string_view::npos) ref.remove_prefix(slash + 1);
  if (!ref.empty() && (ref.front() == 'v' || ref.front() == 'V')) ref.remove_prefix(1);
  if (ref.empty() || !std::isdigit(static_cast<unsigned char>(ref.front())) || !is_word(ref)) return std::nullopt;
  return std::string{ref};
}

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == ':' || c == ';' || c == '(' || c == ')') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// A run title like "Deploy v4.2.0 to uat": the first version-like word.
std::optional<std::string> version_in_title(std::string_view title) {
  for (const auto& word : words_of(title)) {
    if (word.find('.') == std::string::npos) continue;
    if (auto version = version_in_ref(word)) return version;
  }
  return std::nullopt;
}

// A run title like "Deploy v4.2.0 to uat": the word after "to".
std::optional<std::string> environment_in_title(std::string_view title) {
  const auto words = words_of(title);
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (lower(words[i]) == "to" && is_word(words[i + 1])) return words[i + 1];
  }
  return std::nullopt;
}

std::string string_at(const json& node, std::initializer_list<const char*> path) {
  const json* at = &node;
  for (const char* key : path) {
    if (!at->is_object()) return {};
    const auto found = at->find(key);
    if (found == at->end()) return {};
    at = &*found;
  }
  if (at->is_string()) return at->get<std::string>();
  if (at->is_number()) return at->dump();
  return {};
}

std::string field_at(const json& root, std::string_view pointer) {
  try {
    const json::json_pointer where{std::string{pointer}};
    if (!root.contains(where)) return {};
    const auto& value = root.at(where);
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number()) return value.dump();
  } catch (const json::exception&) {
  }
  return {};
}

std::string gitlab_variable(const json& attributes, std::string_view name) {
  const auto found = attributes.find("variables");
  if (found == attributes.end() || !found->is_array()) return {};
  for (const auto& variable : *found) {
    if (variable.is_object() && string_at(variable, {"key"}) == name) return string_at(variable, {"value"});
  }
  return {};
}

// What a run (or deployment) says about itself, for the mapping.
struct run_facts {
  std::string workflow;  // the workflow's / pipeline's name
  std::string ref;       // the branch or tag it ran on
  std::string title;     // the run's title
  const json* variables = nullptr;  // GitLab object_attributes (its variables)
  std::string commit;    // the commit it built: its first 7 characters name the build
};

std::optional<std::string> find_version(const json& root, const run_facts& run, const source_settings& source) {
  const std::string_view from = source.version_from;
  if (from == "tag") return version_in_ref(run.ref);
  if (from == "title") return version_in_title(run.title);
  std::string found;
  if (from.starts_with("field:")) found = field_at(root, from.substr(6));
  if (from.starts_with("variable:") && run.variables != nullptr) found = gitlab_variable(*run.variables, from.substr(9));
  if (found.empty()) return std::nullopt;
  return version_in_ref(found);
}

std::optional<std::string> find_environment(const json& root, const run_facts& run, const source_settings& source) {
  const std::string_view from = source.environment_from;
  std::string found;
  if (from == "title") {
    found = environment_in_title(run.title).value_or("");
  } else if (from == "workflow") {
    found = run.workflow;
  } else if (from.starts_with("field:")) {
    found = field_at(root, from.substr(6));
  } else if (from.starts_with("variable:") && run.variables != nullptr) {
    found = gitlab_variable(*run.variables, from.substr(9));
  }
  if (found.empty()) return std::nullopt;
  return found;
}

std::string where_version_is(const source_settings& source) {
  if (source.version_from == "tag") return "its tag (like v4.2.0)";
  if (source.version_from == "title") return "its title (like \"Deploy 4.2.0 to uat\")";
  return source.version_from;
}

std::string where_environment_is(const source_settings& source) {
  if (source.environment_from == "title") return "its title (\"… to <environment>\")";
  if (source.environment_from == "workflow") return "its name";
  return source.environment_from;
}

commands::deploy_command deploy(std::string version, std::string environment, std::string action,
                                const source_settings& source, const run_facts& run, std::string text = {}) {
  commands::deploy_command command;
  if (is_word(run.commit)) {
    command.commit = run.commit;
    command.build = run.commit.substr(0, 7);
  }
  command.version = std::move(version);
  command.environment = lower(mapped_environment(source, environment));
  command.action = std::move(action);
  command.text = net::utf8_prefix(one_line(std::move(text)), 1000);
  command.repeat_is_harmless = true;
  return command;
}

// A run of a workflow / pipeline: which deployment it is, if it is one.
forge_report run_report(const json& root, const run_facts& run, std::string action, std::string text,
                        const source_settings& source, std::string_view kind_of_run) {
  const bool listed = std::find(source.workflows.begin(), source.workflows.end(), run.workflow) != source.workflows.end();
  if (!source.workflows.empty() && !listed) {
    return ignored_event{std::string{kind_of_run} + " '" + run.workflow + "' is not one of this source's deployment " +
                         std::string{kind_of_run} + "s"};
  }
  const auto version = find_version(root, run, source);
  const auto environment = find_environment(root, run, source);
  if (!version || !environment || !is_word(mapped_environment(source, *environment))) {
    const auto missing = !version ? "no release version in " + where_version_is(source)
                                  : "no environment in " + where_environment_is(source);
    if (!listed) return ignored_event{std::string{kind_of_run} + " '" + run.workflow + "' has " + missing};
    return pipeline_problem{std::string{kind_of_run} + " '" + run.workflow + "' has " + missing, 422};
  }
  if (action.empty()) return ignored_event{"nothing to record yet"};
  return deploy(*version, *environment, std::move(action), source, run, std::move(text));
}

// A deployment event names its environment itself.
forge_report deployment_report(const json& root, const run_facts& run, std::string environment, std::string action,
                               std::string text, const source_settings& source) {
  const auto version = find_version(root, run, source);
  if (!version) return pipeline_problem{"the deployment has no release version in " + where_version_is(source), 422};
  if (environment.empty() || !is_word(mapped_environment(source, environment))) {
    return pipeline_problem{"the deployment names no environment I can use ('" + environment + "')", 422};
  }
  if (action.empty()) return ignored_event{"nothing to record yet"};
  return deploy(*version, environment, std::move(action), source, run, std::move(text));
}

std::string with_link(std::string text, const std::string& url) {
  if (url.empty()) return text;
  return text + " — " + url;
}

forge_report github_workflow_run(const json& root, const source_settings& source) {
  const auto& run = root.find("workflow_run");
  if (run == root.end() || !run->is_object()) return pipeline_problem{"workflow_run is missing"};
  run_facts facts{string_at(*run, {"name"}), string_at(*run, {"head_branch"}), string_at(*run, {"display_title"}),
                  nullptr, string_at(*run, {"head_sha"})};
  const auto action = string_at(root, {"action"});
  const auto conclusion = string_at(*run, {"conclusion"});
  const auto url = string_at(*run, {"html_url"});
  std::string command;
  std::string text;
  if (action == "requested" || action == "in_progress") {
    command = "start";
  } else if (action == "completed") {
    if (conclusion == "success") {
      command = "done";
    } else if (conclusion == "failure" || conclusion == "timed_out" || conclusion == "startup_failure" ||
               conclusion == "cancelled") {
      command = "failed";
      text = with_link("the workflow run " + std::string{conclusion == "cancelled" ? "was cancelled"
                                                          : conclusion == "timed_out" ? "timed out"
                                                                                      : "failed"},
                       url);
    }
  } else if (action.empty()) {
    return pipeline_problem{"action is missing"};
  }
  return run_report(root, facts, command, text, source, "workflow");
}

forge_report github_deployment_status(const json& root, const source_settings& source) {
  const auto status = root.find("deployment_status");
  const auto deployment = root.find("deployment");
  if (status == root.end() || !status->is_object() || deployment == root.end() || !deployment->is_object()) {
    return pipeline_problem{"deployment_status and deployment are required"};
  }
  run_facts facts{{}, string_at(*deployment, {"ref"}), string_at(*deployment, {"description"}), nullptr,
                  string_at(*deployment, {"sha"})};
  const auto state = string_at(*status, {"state"});
  auto url = string_at(*status, {"target_url"});
  if (url.empty()) url = string_at(*status, {"log_url"});
  const auto description = string_at(*status, {"description"});
  std::string command;
  std::string text;
  if (state == "in_progress") {
    command = "start";
  } else if (state == "success") {
    command = "done";
  } else if (state == "failure" || state == "error") {
    command = "failed";
    text = with_link(description.empty() ? "the deployment " + std::string{state == "error" ? "errored" : "failed"}
                                         : description,
                     url);
  } else if (state.empty()) {
    return pipeline_problem{"deployment_status.state is missing"};
  }
  return deployment_report(root, facts, string_at(*deployment, {"environment"}), command, text, source);
}

// GitLab's pipeline and deployment statuses alike: the deploy action (empty: nothing to record)
// and, for a failure, its text.
std::pair<std::string, std::string> gitlab_action(std::string_view status, const std::string& url, std::string_view what) {
  if (status == "running") return {"start", {}};
  if (status == "success") return {"done", {}};
  if (status == "failed" || status == "canceled") {
    return {"failed", with_link(std::string{what} + (status == "canceled" ? " was canceled" : " failed"), url)};
  }
  return {};
}

forge_report gitlab_pipeline(const json& root, const source_settings& source) {
  const auto attributes = root.find("object_attributes");
  if (attributes == root.end() || !attributes->is_object()) return pipeline_problem{"object_attributes is missing"};
  run_facts facts{string_at(*attributes, {"name"}), string_at(*attributes, {"ref"}), string_at(*attributes, {"name"}),
                  &*attributes, string_at(*attributes, {"sha"})};
  const auto status = string_at(*attributes, {"status"});
  auto url = string_at(*attributes, {"url"});
  if (url.empty() && !string_at(root, {"project", "web_url"}).empty()) {
    url = string_at(root, {"project", "web_url"}) + "/-/pipelines/" + string_at(*attributes, {"id"});
  }
  if (status.empty()) return pipeline_problem{"object_attributes.status is missing"};
  auto [command, text] = gitlab_action(status, url, "the pipeline");
  return run_report(root, facts, std::move(command), std::move(text), source, "pipeline");
}

forge_report gitlab_deployment(const json& root, const source_settings& source) {
  run_facts facts{{}, string_at(root, {"ref"}), {}, nullptr, string_at(root, {"short_sha"})};
  const auto status = string_at(root, {"status"});
  const auto url = string_at(root, {"deployable_url"});
  if (status.empty()) return pipeline_problem{"status is missing"};
  auto [command, text] = gitlab_action(status, url, "the deployment");
  return deployment_report(root, facts, string_at(root, {"environment"}), std::move(command), std::move(text), source);
}

}  // namespace

forge_report command_of_github_event(std::string_view event, std::string_view body, const source_settings& source) {
  const auto root = net::parse_json_or_discarded(body);
  if (root.is_discarded()) return pipeline_problem{"the body is not JSON (set the webhook's content type to application/json)"};
  if (!root.is_object()) return pipeline_problem{"the body must be a JSON object"};
  if (event == "ping") return ignored_event{"pong"};
  if (event == "workflow_run") return github_workflow_run(root, source);
  if (event == "deployment_status") return github_deployment_status(root, source);
  if (event.empty()) return pipeline_problem{"X-GitHub-Event is missing"};
  return ignored_event{"GitHub's " + std::string{event} + " event is not one I act on (workflow_run, deployment_status)"};
}

forge_report command_of_gitlab_event(std::string_view event, std::string_view body, const source_settings& source) {
  const auto root = net::parse_json_or_discarded(body);
  if (root.is_discarded()) return pipeline_problem{"the body is not JSON"};
  if (!root.is_object()) return pipeline_problem{"the body must be a JSON object"};
  const auto kind = string_at(root, {"object_kind"});
  if (event == "Pipeline Hook" || (event.empty() && kind == "pipeline")) return gitlab_pipeline(root, source);
  if (event == "Deployment Hook" || (event.empty() && kind == "deployment")) return gitlab_deployment(root, source);
  if (event.empty() && kind.empty()) return pipeline_problem{"X-Gitlab-Event is missing"};
  return ignored_event{"GitLab's " + std::string{event.empty() ? kind : std::string{event}} +
                       " is not one I act on (Pipeline Hook, Deployment Hook)"};
}

std::string mapping_problem(source_kind kind, std::string_view setting, bool for_environment) {
  if (setting == "title") return {};
  if (!for_environment && setting == "tag") return {};
  if (for_environment && setting == "workflow") return {};
  if (setting.starts_with("field:")) {
    try {
      const json::json_pointer pointer{std::string{setting.substr(6)}};
      if (setting.size() > 6) return {};
    } catch (const json::exception&) {
    }
    return "'" + std::string{setting.substr(6)} + "' is not a JSON pointer (like /deployment/payload/version)";
  }
  if (setting.starts_with("variable:") && setting.size() > 9) {
    if (kind == source_kind::gitlab) return {};
    return "variable:<NAME> is for GitLab pipelines (their CI variables)";
  }
  return "'" + std::string{setting} + "' is not a place I can read it from — use " +
         (for_environment ? "title, workflow" : "tag, title") + ", field:<JSON pointer> or variable:<NAME>";
}

}  // namespace releasebot::integrations::webhooks
