// Internal to commands/: arming the durable timers a change implies, and what a timer does
// when it comes due.
#pragma once

#include "commands/handler_context.hpp"
#include "storage/timer_store.hpp"

namespace releasebot::commands {

namespace timer_kind {
inline constexpr std::string_view cutoff_reminder = "cutoff_reminder";
inline constexpr std::string_view schedule_watch = "schedule_watch";
inline constexpr std::string_view signoff_nudge = "signoff_nudge";
inline constexpr std::string_view retroactive_chase = "retroactive_chase";
}  // namespace timer_kind

// Replaces the release's cut-off reminders with the policy's offsets before `cutoff`; offsets
// already past are not armed.
void arm_cutoff_reminders(handler_context& ctx, const storage::release_record& release, storage::instant cutoff);
void arm_schedule_watch(handler_context& ctx, const storage::release_record& release, std::string_view environment,
                        storage::instant planned);
void arm_signoff_nudge(handler_context& ctx, const storage::release_record& release, storage::row_id request_id,
                       std::string_view assignee, storage::instant earliest);
void arm_retroactive_chase(handler_context& ctx, const storage::release_record& release, storage::instant earliest);
std::string request_key(storage::row_id request_id);

// Does what the timer is for; false when there was nothing left to do (it is then skipped).
bool fire_timer(handler_context& ctx, const storage::timer_record& timer, bool late);

// "cut-off reminder (1 h before) at …" — for status and schedule replies.
std::string describe_timer(handler_context& ctx, const storage::timer_record& timer);

}  // namespace releasebot::commands
