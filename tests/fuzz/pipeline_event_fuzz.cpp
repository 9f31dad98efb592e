// libFuzzer target: whatever a pipeline posts to /hooks/<source> (after its signature held) goes
// through the generic event decoder, which must answer a command or a problem, never crash.
#include "integrations/webhooks/pipeline_event.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const releasebot::integrations::webhooks::source_settings source{
      "release-script", "the release script", "key", {{"staging", "uat"}}};
  const std::string_view body{reinterpret_cast<const char*>(data), size};
  (void)releasebot::integrations::webhooks::command_of_pipeline_event(body, source);
  return 0;
}
