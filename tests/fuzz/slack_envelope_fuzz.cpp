// libFuzzer target: any Socket Mode frame decodes or is refused cleanly; any typed text renders.
#include "integrations/slack/block_kit.hpp"
#include "integrations/slack/envelope.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame{reinterpret_cast<const char*>(data), size};
  (void)releasebot::integrations::slack::decode_envelope(frame, "UBOT");
  releasebot::commands::message_builder body;
  body.text("title: ").user_text(frame).line().mention("U123");
  const auto message = body.build();
  (void)releasebot::integrations::slack::render_blocks(message);
  (void)releasebot::integrations::slack::render_fallback(message);
  return 0;
}
