// Renders neutral messages as Adaptive Cards (and plain Teams text) for the Bot Connector.
#pragma once

#include "commands/message.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace releasebot::integrations::teams {

// An Adaptive Card 1.4: a TextBlock per paragraph (wrap on; our strong → **…**, code → `…`; user
// text neutralised and with Markdown/HTML special characters escaped so it cannot format or
// ping); buttons as Action.Execute with verb = action_id and data {"request": value}, style
// positive/destructive for primary/danger. A mention renders as "<at>name</at>" text (span.name,
// filled by the roster; the id when unnamed) with a matching entry in `mentions`.
nlohmann::json render_card(const commands::message& body);

// Plain message text for the activity's `text` (Teams renders it as Markdown-ish): the same
// escaping rules; mentions as <at>name</at>.
std::string render_text(const commands::message& body);

// The msteams mention entities for every mention span: {"type":"mention","text":"<at>name</at>",
// "mentioned":{"id":span.value ("29:…"),"name":name}}.
nlohmann::json render_mentions(const commands::message& body);

// A whole message activity: {"type":"message","text":…,"attachments":[{"contentType":
// "application/vnd.microsoft.card.adaptive","content":card}],"entities":[mentions]}; messages
// without buttons and with a single short paragraph may go as text only.
nlohmann::json render_activity(const commands::message& body);

}  // namespace releasebot::integrations::teams
