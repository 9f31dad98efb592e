#include "integrations/webhooks/pipeline_event.hpp"

#include "integrations/net/json_reader.hpp"
#include "integrations/webhooks/event_words.hpp"

#include <nlohmann/json.hpp>

namespace releasebot::integrations::webhooks {

namespace {

constexpr std::size_t max_text_chars = 1000;

}  // namespace

std::optional<source_kind> source_kind_named(std::string_view name) {
  if (name == "generic") return source_kind::generic;
  if (name == "github") return source_kind::github;
  if (name == "gitlab") return source_kind::gitlab;
  return std::nullopt;
}

std::variant<commands::deploy_command, pipeline_problem> command_of_pipeline_event(std::string_view body,
                                                                                  const source_settings& source) {
  const auto root = net::parse_json_or_discarded(body);
  if (root.is_discarded()) return pipeline_problem{"the body is not JSON"};
  if (!root.is_object()) return pipeline_problem{"the body must be a JSON object"};
  const auto text_field = [&](const char* key) -> std::variant<std::string, pipeline_problem> {
    const auto found = root.find(key);
    if (found == root.end() || found->is_null()) return std::string{};
    if (!found->is_string()) return pipeline_problem{std::string{key} + " must be a string"};
    return found->get<std::string>();
  };
  std::string fields[4];
  const char* names[4] = {"release", "environment", "event", "text"};
  for (int i = 0; i < 4; ++i) {
    auto value = text_field(names[i]);
    if (auto* problem = std::get_if<pipeline_problem>(&value)) return *problem;
    fields[i] = std::get<std::string>(std::move(value));
  }
  const auto& [release, environment_in, event, text] = fields;
  if (release.empty()) return pipeline_problem{"release is missing (the version, like 4.2.0)"};
  if (!is_word(release)) return pipeline_problem{"release '" + release + "' is not a version"};
  if (environment_in.empty()) return pipeline_problem{"environment is missing"};
  const auto environment = mapped_environment(source, environment_in);
  if (!is_word(environment)) return pipeline_problem{"environment '" + environment_in + "' is not one word"};
  if (text.size() > max_text_chars) return pipeline_problem{"text is longer than 1000 characters"};
  commands::deploy_command command;
  command.version = release;
  command.environment = lower(environment);
  if (const auto minutes = root.find("downtime_minutes"); minutes != root.end() && !minutes->is_null()) {
    if (!minutes->is_number_integer() || minutes->get<long long>() < 0 || minutes->get<long long>() > 10'000) {
      return pipeline_problem{"downtime_minutes must be a whole number of minutes from 0 to 10000"};
    }
    command.downtime_minutes = static_cast<int>(minutes->get<long long>());
  }
  for (const auto& [key, target] : {std::pair{"build", &command.build}, std::pair{"commit", &command.commit},
                                    std::pair{"url", &command.url}}) {
    const auto found = root.find(key);
    if (found == root.end() || found->is_null()) continue;
    if (found->is_number_integer()) {
      *target = found->dump();
    } else if (found->is_string()) {
      *target = found->get<std::string>();
    } else {
      return pipeline_problem{std::string{key} + " must be a string"};
    }
    if (target->size() > (target == &command.url ? 500u : 64u) || target->find_first_of(" \n\r\t") != std::string::npos) {
      return pipeline_problem{std::string{key} + " must be one word of at most " +
                              (target == &command.url ? "500" : "64") + " characters"};
    }
  }
  auto words = one_line(text);
  const bool blank = words.find_first_not_of(' ') == std::string::npos;
  if (event == "started" || event == "succeeded") {
    command.action = event == "started" ? "start" : "done";
    return command;
  }
  if (event == "step") {
    if (blank) return pipeline_problem{"a step needs its text"};
    command.action = "step";
    command.text = std::move(words);
    return command;
  }
  if (event == "failed" || event == "rolled_back") {
    command.action = event == "failed" ? "failed" : "rollback";
    command.text = blank ? "reported by " + source.display_name : std::move(words);
    return command;
  }
  if (event.empty()) return pipeline_problem{"event is missing (started, step, succeeded, failed or rolled_back)"};
  return pipeline_problem{"event '" + event + "' is not one of started, step, succeeded, failed, rolled_back"};
}

}  // namespace releasebot::integrations::webhooks
