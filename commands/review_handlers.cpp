// Handlers for the post-release review and the KPI report.
#include "commands/release_view.hpp"
#include "commands/time_text.hpp"

#include <date/date.h>

#include <algorithm>
#include <map>
#include <set>

namespace releasebot::commands {

namespace {

void invite_participants(handler_context& ctx, const storage::release_record& release) {
  std::set<std::string> people{release.coordinator};
  for (const auto& entry : ctx.audit_trail.for_release(release.id)) people.insert(entry.actor);
  for (const auto& request : ctx.releases.signoff_requests(release.id)) people.insert(request.assignee);
  people.erase(ctx.from.user);
  for (const auto& person : people) {
    message_builder invite{message_kind::reminder};
    invite.text("📝 The review of ").strong(release.version).text(" is open. What went well, what to improve, which "
                                                                 "actions? Add yours:")
        .line();
    invite.code("review " + release.version + " add good|improve|action <text> [@owner]");
    ctx.send_direct(release, person, invite.build());
  }
}

message review_summary(handler_context& ctx, const storage::release_record& release) {
  const auto items = ctx.releases.review_items(release.id);
  message_builder summary{message_kind::announcement};
  summary.text("📋 Review of ").strong(release.version).text(" closed — " + std::to_string(items.size()) + " item" +
                                                            (items.size() == 1 ? "" : "s")).line();
  const std::pair<const char*, const char*> sections[] = {
      {"good", "Went well"}, {"improve", "To improve"}, {"action", "Actions"}};
  for (const auto& [kind, title] : sections) {
    bool any = false;
    for (const auto& item : items) {
      if (item.kind != kind) continue;
      if (!any) summary.strong(title).line();
      any = true;
      summary.text("• ").user_text(item.text);
      if (item.owner) summary.text(" — owner ").mention(*item.owner);
      summary.line();
    }
  }
  if (items.empty()) summary.text("Nobody added feedback.");
  return summary.build();
}

}  // namespace

outcome handle(handler_context& ctx, const review_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  const auto review = ctx.releases.review(release.id);
  message_builder reply;
  if (cmd.action == "start") {
    ctx.require_permission("review-manage", &release);
    const auto& type = ctx.type_of(release);
    if (release.stage != type.stages.back()) {
      ctx.refuse(release.version + " is in " + release.stage + "; the review starts in " + type.stages.back() +
                 " — advance " + release.version + " first");
    }
    if (review) ctx.refuse("the review of " + release.version + " is already " + (review->closed_at ? "closed" : "open"));
    ctx.releases.start_review(release.id, ctx.from.user, ctx.from.now);
    ctx.audit(&release, "review_start", nlohmann::json::object());
    invite_participants(ctx, release);
    message_builder announcement{message_kind::announcement};
    announcement.text("📝 The post-release review of ").strong(release.version).text(" is open — add feedback with ");
    announcement.code("review " + release.version + " add good|improve|action <text> [@owner]");
    ctx.announce_in_thread(release, announcement.build(), false);
    reply.text("Opened the review of ").strong(release.version).text(" and invited its participants.");
    return changed_reply(reply.build());
  }
  if (!review) ctx.refuse("the review of " + release.version + " has not started — review " + release.version + " start");
  if (review->closed_at) ctx.refuse("the review of " + release.version + " is closed");
  if (cmd.action == "add") {
    ctx.require_permission("review-add", &release);
    if (cmd.text.size() > 1000) ctx.refuse("keep review items under 1000 characters");
    ctx.releases.add_review_item(release.id, {cmd.kind, cmd.text, cmd.owner, ctx.from.user, ctx.from.now});
    ctx.audit(&release, "review_add",
              {{"kind", cmd.kind}, {"text", cmd.text}, {"owner", cmd.owner ? nlohmann::json(*cmd.owner) : nullptr}});
    message_builder announcement{message_kind::announcement};
    announcement.text("📝 ").strong(release.version).text(" review — " + cmd.kind + ": ").user_text(cmd.text);
    if (cmd.owner) announcement.text(" (owner ").mention(*cmd.owner).text(")");
    ctx.announce_in_thread(release, announcement.build(), false);
    reply.text("Added your " + cmd.kind + " item to the review of ").strong(release.version).text(".");
    return changed_reply(reply.build());
  }
  ctx.require_permission("review-manage", &release);
  ctx.releases.close_review(release.id, ctx.from.now);
  ctx.audit(&release, "review_close", nlohmann::json::object());
  ctx.announce_in_thread(release, review_summary(ctx, release), true);
  reply.text("Closed the review of ").strong(release.version).text("; close " + release.version +
                                                                   " when its checklist is done.");
  return changed_reply(reply.build());
}

namespace {

std::pair<storage::instant, storage::instant> this_quarter(const handler_context& ctx) {
  const auto zone = ctx.reader_zone();
  const auto today = date::year_month_day{std::chrono::floor<date::days>(ctx.from.now)};
  const unsigned first_month = (static_cast<unsigned>(today.month()) - 1) / 3 * 3 + 1;
  const auto start = date::year_month_day{today.year(), date::month{first_month}, date::day{1}};
  const auto end = start + date::months{3};
  const auto to_text = [](const date::year_month_day& day) { return date::format("%Y-%m-%d", day); };
  return {std::get<std::chrono::sys_seconds>(parse_date(to_text(start), zone)),
          std::get<std::chrono::sys_seconds>(parse_date(to_text(end), zone))};
}

storage::instant report_date(const handler_context& ctx, const std::string& text) {
  auto parsed = parse_date(text, ctx.reader_zone());
  if (std::holds_alternative<time_error>(parsed)) ctx.refuse("'" + text + "' is not a date — write YYYY-MM-DD");
  return std::get<std::chrono::sys_seconds>(parsed);
}

std::string signed_minutes(std::int64_t minutes) { return (minutes > 0 ? "+" : "") + std::to_string(minutes) + " min"; }

}  // namespace

outcome handle(handler_context& ctx, const report_command& cmd) {
  ctx.require_permission("report", nullptr);
  auto [from, to] = this_quarter(ctx);
  if (cmd.from) from = report_date(ctx, *cmd.from);
  if (cmd.to) to = report_date(ctx, *cmd.to);
  if (to <= from) ctx.refuse("the period ends before it starts — report <from> <to> with from earlier than to");

  std::map<std::string, int> per_type;
  for (const auto& type : ctx.rules.types) per_type[type.id] = 0;
  std::map<std::string, int> incidents_by_severity;
  int incidents = 0, resolved = 0, unresolved = 0, successful = 0, failed = 0, in_progress = 0;
  std::int64_t estimated = 0, actual = 0, compared_estimate = 0, compared_actual = 0, slip_total = 0;
  int slip_count = 0;
  message_builder per_release;
  const auto releases = ctx.releases.opened_between(from, to);
  for (const auto& release : releases) {
    ++per_type[release.type];
    const auto snapshot = load_snapshot(ctx, release);
    for (const auto& incident : snapshot.incidents) {
      ++incidents;
      ++incidents_by_severity[incident.severity];
    }
    const auto done = std::count_if(snapshot.tickets.begin(), snapshot.tickets.end(),
                                    [](const storage::ticket_record& t) { return t.resolved; });
    resolved += static_cast<int>(done);
    unresolved += static_cast<int>(snapshot.tickets.size()) - static_cast<int>(done);
    for (const auto& deployment : snapshot.deployments) {
      estimated += deployment.estimated_downtime.value_or(0);
      actual += deployment.actual_downtime.value_or(0);
      if (deployment.estimated_downtime && deployment.actual_downtime) {
        compared_estimate += *deployment.estimated_downtime;
        compared_actual += *deployment.actual_downtime;
      }
    }
    const auto* production = latest_deployment(snapshot, ctx.rules.production_environment);
    std::string outcome_text;
    if (production != nullptr && production->outcome == "succeeded") {
      ++successful;
      outcome_text = "successful";
    } else if ((production != nullptr && production->outcome != "running") ||
               (release.state == "cancelled" && !snapshot.deployments.empty())) {
      ++failed;
      outcome_text = "failed";
    } else {
      ++in_progress;
      outcome_text = release.state == "cancelled" ? "cancelled before deployment" : "not yet in production";
    }
    per_release.text("• ").strong(release.version).text(" (" + release.type + "): " + outcome_text + "; tickets " +
                                                        std::to_string(done) + " resolved / " +
                                                        std::to_string(snapshot.tickets.size() - done) + " not");
    per_release.text("; unit tests " + (release.unit_tests ? std::to_string(*release.unit_tests) : std::string{"—"}));
    for (const auto& milestone : snapshot.milestones) {
      if (milestone.name != ctx.rules.production_environment || production == nullptr ||
          production->outcome != "succeeded" || !production->finished_at) {
        continue;
      }
      const auto slip = std::chrono::duration_cast<std::chrono::minutes>(*production->finished_at - milestone.planned_at);
      slip_total += slip.count();
      ++slip_count;
      per_release.text("; production slip " + signed_minutes(slip.count()));
    }
    per_release.line();
  }

  message_builder out;
  out.strong("Release report").text(" " + ctx.when(from) + " → " + ctx.when(to)).line();
  std::vector<std::string> counts;
  for (const auto& [type, count] : per_type) counts.push_back(type + " " + std::to_string(count));
  out.text("Releases: " + std::to_string(releases.size()) + " (" + join_words(counts) + ")").line();
  std::vector<std::string> severities;
  for (const auto& [severity, count] : incidents_by_severity) severities.push_back(severity + " " + std::to_string(count));
  out.text("Incidents caused by releases: " + std::to_string(incidents) +
           (severities.empty() ? "" : " (" + join_words(severities) + ")"))
      .line();
  out.text("Tickets: " + std::to_string(resolved) + " resolved, " + std::to_string(unresolved) + " not resolved").line();
  out.text("Downtime: estimated " + std::to_string(estimated) + " min, actual " + std::to_string(actual) +
           " min; where both were recorded, actual − estimated = " + signed_minutes(compared_actual - compared_estimate))
      .line();
  out.text("Outcome: " + std::to_string(successful) + " successful, " + std::to_string(failed) + " failed, " +
           std::to_string(in_progress) + " other")
      .line();
  out.text(slip_count == 0 ? std::string{"Schedule slip: no production date both planned and met"}
                           : "Schedule slip (production, actual − planned): average " +
                                 signed_minutes(slip_total / slip_count) + " over " + std::to_string(slip_count) +
                                 " release" + (slip_count == 1 ? "" : "s"))
      .line();
  auto details = per_release.build();
  auto summary = out.build();
  summary.paragraphs.insert(summary.paragraphs.end(), details.paragraphs.begin(), details.paragraphs.end());
  return query_reply(std::move(summary), cmd.make_public);
}

}  // namespace releasebot::commands
