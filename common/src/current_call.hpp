#pragma once
// The caller of the RPC this thread is serving: RpcRuntime records it when a call's identity is established (Begin)
// and forgets it when the call ends (Finish). For kit pieces that are handed only a tenant and a request id (the
// Outbox::Append overload that many services' write paths use) and must still record who asked; a thread that serves
// no call (an event consumer, a scheduled job) has none, so its changes are the service's own.
#include <functional>
#include <string>

#include "crm/common/rpc.hpp"

namespace crm::common::detail {

// The calling RequestContext, or nullptr outside an RPC. Valid until the call's Finish on this thread.
const RequestContext* CurrentCall();
void SetCurrentCall(const RequestContext& rc);
void ClearCurrentCall();

// Called by RpcRuntime when a write RPC (one not declared NO_SIDE_EFFECTS) of an identified caller is refused (invalid
// argument, permission, not found, precondition, conflict, limit): the kit's bootstrap records it in the service's
// audit trail (audit.hpp) with the refusal's code as outcome. One per process; unset = not recorded. Server faults
// (unavailable, internal, deadline) are not refusals and are not recorded.
using RefusalRecorder = std::function<void(const RequestContext& rc, const std::string& outcome)>;
void SetRefusalRecorder(RefusalRecorder recorder);

}  // namespace crm::common::detail
