#pragma once
// The caller of the RPC this thread is serving: RpcRuntime records it when a call's identity is established (Begin)
// and forgets it when the call ends (Finish). For kit pieces that are handed only a tenant and a request id (the
// Outbox::Append overload that many services' write paths use) and must still record who asked; a thread that serves
// no call (an event consumer, a scheduled job) has none, so its changes are the service's own.
#include "crm/common/rpc.hpp"

namespace crm::common::detail {

// The calling RequestContext, or nullptr outside an RPC. Valid until the call's Finish on this thread.
const RequestContext* CurrentCall();
void SetCurrentCall(const RequestContext& rc);
void ClearCurrentCall();

}  // namespace crm::common::detail
