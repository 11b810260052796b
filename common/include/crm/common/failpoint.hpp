#pragma once
// Named failure points for tests: crash or fail a process at an exact step (between the two calls of a saga, between
// an SMTP acceptance and the row that records it) so that a test can prove what happens after. Off unless the setting
// CRM_FAILPOINTS names them (the bootstrap reads it; production never sets it); an unnamed point costs one relaxed
// atomic load.
//
//   CRM_FAILPOINTS="leads.convert.after_contacts=crash"          kill the process there (SIGKILL: no clean-up, no
//                                                                flush, as a power loss or OOM kill would)
//   CRM_FAILPOINTS="marketing.send.after_smtp=error*2;x.y=delay:500"
//                                                                throw UNAVAILABLE twice, then pass; sleep 500 ms
//
// Code marks a point with `common::Failpoint("leads.convert.after_contacts");`. Names are <service>.<area>.<step>.
#include <string>
#include <string_view>

namespace crm::common {

// Parses and installs the spec (replacing any earlier one); "" turns every point off. Throws std::invalid_argument
// for a malformed spec: "name=action[*count][;...]" with action crash | error | delay:<ms>.
void ConfigureFailpoints(std::string_view spec);

// Runs the action configured for `name`, if any.
void Failpoint(std::string_view name);

// True when any point is armed (one relaxed atomic load): hot paths test it before building a name.
bool FailpointsArmed();

// Points of the kit itself: "db.before_commit" (every Db transaction, after its statements, before COMMIT).

// How often `name` fired since it was configured (for tests of the facility itself).
int FailpointHits(std::string_view name);

}  // namespace crm::common
