// Renders neutral messages as Slack Block Kit blocks with a plain-text fallback.
#pragma once

#include "commands/message.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace releasebot::integrations::slack {

// Slack's three control characters in message text: & < > become &amp; &lt; &gt;.
std::string escape(std::string_view text);

// The message as mrkdwn: our text escaped, user text neutralised and escaped (it can never
// ping), mentions as <@U…>, strong as *…*, code as `…`; paragraphs separated by newlines.
std::string render_mrkdwn(const commands::message& body);

// The `text` field: the same words without markup, for notifications and screen readers.
std::string render_fallback(const commands::message& body);

// The `blocks` array: a section per paragraph (a status reads well on a phone: one fact a
// line), then an actions block for buttons (style primary/danger, a confirm dialog where the
// button asks for one). Slack's limits are respected: at most 50 blocks, 3000 characters of
// text per section (longer paragraphs are split), 75 characters per button label.
nlohmann::json render_blocks(const commands::message& body);

}  // namespace releasebot::integrations::slack
