#include "commands/timers.hpp"

#include "commands/parser.hpp"
#include "commands/release_view.hpp"
#include "commands/time_text.hpp"
#include "commands/working_time.hpp"

#include <charconv>

namespace releasebot::commands {

namespace {

std::string offset_text(std::chrono::minutes offset) {
  if (offset.count() % (24 * 60) == 0 && offset >= std::chrono::hours{48}) {
    return std::to_string(offset.count() / (24 * 60)) + " days";
  }
  if (offset.count() % 60 == 0) return std::to_string(offset.count() / 60) + " h";
  return std::to_string(offset.count()) + " min";
}

std::chrono::minutes offset_of(const storage::timer_record& timer) {
  long minutes = 0;
  std::from_chars(timer.key.data(), timer.key.data() + timer.key.size(), minutes);
  return std::chrono::minutes{minutes};
}

std::optional<storage::row_id> request_of(const storage::timer_record& timer) {
  constexpr std::string_view prefix = "request-";
  if (!timer.key.starts_with(prefix)) return std::nullopt;
  storage::row_id id = 0;
  const auto digits = std::string_view{timer.key}.substr(prefix.size());
  if (std::from_chars(digits.data(), digits.data() + digits.size(), id).ec != std::errc{}) return std::nullopt;
  return id;
}

void arm(handler_context& ctx, const storage::release_record& release, std::string_view kind, std::string key,
         storage::instant due) {
  storage::timer_record timer;
  timer.kind = std::string{kind};
  timer.release_id = release.id;
  timer.key = std::move(key);
  timer.due_at = due;
  timer.created_at = ctx.from.now;
  ctx.timers.schedule(timer);
  ctx.changed = true;
}

void add_late_note(message_builder& out, handler_context& ctx, const storage::timer_record& timer, bool late) {
  if (late) out.line().text("(late: this was due " + ctx.channel_when(timer.due_at) + " while I was not running)");
}

std::optional<storage::instant> planned(handler_context& ctx, const storage::release_record& release,
                                        std::string_view name) {
  for (const auto& milestone : ctx.releases.milestones(release.id)) {
    if (milestone.name == name) return milestone.planned_at;
  }
  return std::nullopt;
}

bool fire_cutoff_reminder(handler_context& ctx, const storage::release_record& release,
                          const storage::timer_record& timer, bool late) {
  const auto cutoff = planned(ctx, release, "cutoff");
  if (!cutoff) return false;
  const auto offset = offset_of(timer);
  message_builder out{message_kind::reminder};
  if (offset.count() == 0) {
    out.text("⛔ Code cut-off for ").strong(release.version).text(" is now in effect (" + ctx.channel_when(*cutoff) + ")");
  } else {
    out.text("⏰ Code cut-off for ").strong(release.version).text(" in " + offset_text(offset) + " — at " +
                                                                 ctx.channel_when(*cutoff));
  }
  add_late_note(out, ctx, timer, late);
  ctx.announce_in_thread(release, out.build(), offset.count() == 0);
  return true;
}

bool fire_schedule_watch(handler_context& ctx, const storage::release_record& release,
                         const storage::timer_record& timer, bool late) {
  const auto planned_at = planned(ctx, release, timer.key);
  if (!planned_at) return false;
  for (const auto& deployment : ctx.releases.deployments(release.id)) {
    if (deployment.environment == timer.key) return false;
  }
  message_builder out{message_kind::reminder};
  out.text("⚠️ ").strong(release.version).text(": " + timer.key + " was planned for " + ctx.channel_when(*planned_at) +
                                               " and has not started — ");
  out.mention(release.coordinator).text(", deploy or reschedule it (schedule " + release.version + " " + timer.key +
                                        " <time>)");
  add_late_note(out, ctx, timer, late);
  ctx.announce_in_thread(release, out.build(), false);
  return true;
}

bool fire_signoff_nudge(handler_context& ctx, const storage::release_record& release,
                        const storage::timer_record& timer, bool late) {
  const auto request_id = request_of(timer);
  if (!request_id) return false;
  const auto found = ctx.releases.find_signoff_request(*request_id);
  if (!found || found->second.answered_at) return false;
  const auto& request = found->second;
  const int nudges = ctx.releases.count_nudge(request.id);
  const auto zone = ctx.zone_of(request.assignee);
  message_builder out{message_kind::signoff_request};
  out.text("⏳ Reminder: ").mention(request.requested_by).text(" asked you on " + format_time(request.requested_at, zone) +
                                                                " to sign off ");
  out.strong(release.version).text(" as ").strong(request.role).text(".").line();
  out.text("Approve or reject below, or type approve " + release.version + " as " + request.role + " [note].");
  const auto value = std::to_string(request.id);
  out.add_button({std::string{signoff_approve_action}, "Approve", value, button_style::primary, ""});
  out.add_button({std::string{signoff_reject_action}, "Reject", value, button_style::danger,
                  "Reject " + release.version + " as " + request.role + "?"});
  add_late_note(out, ctx, timer, late);
  ctx.send_direct(release, request.assignee, out.build());
  if (nudges >= ctx.rules.nudges.escalate_after) {
    message_builder escalation{message_kind::reminder};
    escalation.text("📣 ").mention(request.assignee).text(" has not answered the " + request.role + " sign-off of ");
    escalation.strong(release.version).text(" after " + std::to_string(nudges) + " reminders (asked " +
                                            format_time(request.requested_at, ctx.zone_of(release.coordinator)) + ").");
    ctx.send_direct(release, release.coordinator, escalation.build());
  }
  arm(ctx, release, timer_kind::signoff_nudge, timer.key,
      next_working_day(ctx.from.now, zone, ctx.rules.nudges));
  return true;
}

bool fire_retroactive_chase(handler_context& ctx, const storage::release_record& release,
                            const storage::timer_record& timer, bool late) {
  std::vector<std::string> owed;
  for (const auto& role : signoff_roles(ctx.rules, load_snapshot(ctx, release))) {
    if (role.state != "approved") owed.push_back(role.role);
  }
  if (owed.empty()) return false;
  message_builder out{message_kind::reminder};
  out.text("⏳ ").strong(release.version).text(" went out with sign-offs still owed: " + join_words(owed) +
                                               ". Ask for them: signoff " + release.version + " <role> @person");
  add_late_note(out, ctx, timer, late);
  ctx.send_direct(release, release.coordinator, out.build());
  arm(ctx, release, timer_kind::retroactive_chase, "",
      next_working_day(ctx.from.now, ctx.zone_of(release.coordinator), ctx.rules.nudges));
  return true;
}

}  // namespace

std::string request_key(storage::row_id request_id) { return "request-" + std::to_string(request_id); }

void arm_cutoff_reminders(handler_context& ctx, const storage::release_record& release, storage::instant cutoff) {
  ctx.timers.cancel(release.id, timer_kind::cutoff_reminder);
  for (const auto offset : ctx.rules.cutoff_reminders) {
    const auto due = cutoff - offset;
    if (due <= ctx.from.now) continue;  // its moment passed before it was set
    arm(ctx, release, timer_kind::cutoff_reminder, std::to_string(offset.count()), due);
  }
  ctx.changed = true;
}

void arm_schedule_watch(handler_context& ctx, const storage::release_record& release, std::string_view environment,
                        storage::instant planned_at) {
  if (planned_at <= ctx.from.now) {
    ctx.timers.cancel_one(release.id, timer_kind::schedule_watch, environment);
    return;
  }
  arm(ctx, release, timer_kind::schedule_watch, std::string{environment}, planned_at);
}

void arm_signoff_nudge(handler_context& ctx, const storage::release_record& release, storage::row_id request_id,
                       std::string_view assignee, storage::instant earliest) {
  arm(ctx, release, timer_kind::signoff_nudge, request_key(request_id),
      next_working_moment(earliest, ctx.zone_of(assignee), ctx.rules.nudges));
}

void arm_retroactive_chase(handler_context& ctx, const storage::release_record& release, storage::instant earliest) {
  arm(ctx, release, timer_kind::retroactive_chase, "",
      next_working_moment(earliest, ctx.zone_of(release.coordinator), ctx.rules.nudges));
}

bool fire_timer(handler_context& ctx, const storage::timer_record& timer, bool late) {
  if (!timer.release_id) return false;
  const auto release = ctx.releases.find(*timer.release_id);
  if (!release || release->state != "active") return false;
  if (timer.kind == timer_kind::cutoff_reminder) return fire_cutoff_reminder(ctx, *release, timer, late);
  if (timer.kind == timer_kind::schedule_watch) return fire_schedule_watch(ctx, *release, timer, late);
  if (timer.kind == timer_kind::signoff_nudge) return fire_signoff_nudge(ctx, *release, timer, late);
  if (timer.kind == timer_kind::retroactive_chase) return fire_retroactive_chase(ctx, *release, timer, late);
  return false;
}

std::string describe_timer(handler_context& ctx, const storage::timer_record& timer) {
  std::string what;
  if (timer.kind == timer_kind::cutoff_reminder) {
    const auto offset = offset_of(timer);
    what = offset.count() == 0 ? "cut-off in effect" : "cut-off reminder (" + offset_text(offset) + " before)";
  } else if (timer.kind == timer_kind::schedule_watch) {
    what = "check that " + timer.key + " started";
  } else if (timer.kind == timer_kind::signoff_nudge) {
    what = "sign-off nudge";
  } else {
    what = "retroactive sign-off chase";
  }
  return what + " at " + ctx.when(timer.due_at);
}

}  // namespace releasebot::commands
