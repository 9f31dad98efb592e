// libFuzzer target: any activity body decodes or is refused cleanly; any bearer token is
// validated without crashing; any typed text renders as a card.
#include "integrations/teams/activity.hpp"
#include "integrations/teams/adaptive_card.hpp"
#include "integrations/teams/jwt.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body{reinterpret_cast<const char*>(data), size};
  (void)releasebot::integrations::teams::decode_activity(body, "app-id");
  static const auto keys = std::get<releasebot::integrations::teams::key_set>(
      releasebot::integrations::teams::key_set::parse(R"({"keys":[]})"));
  releasebot::integrations::teams::token_expectations expected;
  expected.audience = "app-id";
  (void)releasebot::integrations::teams::validate_token(body, keys, expected, std::chrono::system_clock::now());
  releasebot::commands::message_builder card;
  card.user_text(body).line().strong("x");
  (void)releasebot::integrations::teams::render_activity(card.build());
  return 0;
}
