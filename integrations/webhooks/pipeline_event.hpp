// The generic pipeline event (Jenkins, release scripts) and the command it becomes. Pure; fuzzed.
#pragma once

#include "commands/command.hpp"

#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace releasebot::integrations::webhooks {

struct source_settings {
  std::string name;          // the route: /hooks/<name>
  std::string display_name;  // what announcements say: "started by <display_name>"
  std::string key;           // the HMAC key (decoded from the whsec_… secret)
  std::map<std::string, std::string> environments;  // the pipeline's environment names → the policy's
};

// The generic body: {release, environment, event: started|step|succeeded|failed|rolled_back,
// text, downtime_minutes, build, commit, url} → the deploy command a person would type
// (`deploy 4.2.0 uat step …`), built directly so that no quote in the text can change it, or the
// problem (a 400).
struct pipeline_problem {
  std::string problem;
};
std::variant<commands::deploy_command, pipeline_problem> command_of_pipeline_event(std::string_view body,
                                                                                  const source_settings& source);

}  // namespace releasebot::integrations::webhooks
