// libFuzzer target: whatever a pipeline posts to /hooks/<source> (after its signature held) goes
// through the generic, GitHub and GitLab decoders, each of which must answer a command, an
// ignored event or a problem, never crash.
#include "integrations/webhooks/pipeline_event.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hooks = releasebot::integrations::webhooks;

namespace {

hooks::source_settings source_of(hooks::source_kind kind, std::string version_from, std::string environment_from) {
  hooks::source_settings source;
  source.name = "source";
  source.display_name = "the pipeline";
  source.environments = {{"staging", "uat"}};
  source.kind = kind;
  source.version_from = std::move(version_from);
  source.environment_from = std::move(environment_from);
  return source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto generic = source_of(hooks::source_kind::generic, "tag", "title");
  static const auto github = source_of(hooks::source_kind::github, "tag", "title");
  static const auto github_fields = source_of(hooks::source_kind::github, "field:/deployment/payload/version", "workflow");
  static const auto gitlab = source_of(hooks::source_kind::gitlab, "variable:RELEASE_VERSION", "variable:RELEASE_ENV");
  const std::string_view body{reinterpret_cast<const char*>(data), size};
  (void)hooks::command_of_pipeline_event(body, generic);
  for (const auto* event : {"workflow_run", "deployment_status"}) {
    (void)hooks::command_of_github_event(event, body, github);
    (void)hooks::command_of_github_event(event, body, github_fields);
  }
  for (const auto* event : {"Pipeline Hook", "Deployment Hook", ""}) (void)hooks::command_of_gitlab_event(event, body, gitlab);
  return 0;
}
