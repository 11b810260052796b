// RPCs of crm.support.v1.CsatService: the public answer and page of a survey (called by its link's token, role
// "public"), and the report (support managers; never by a link).
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "crm/common/errors.hpp"
#include "crm/common/rpc.hpp"
#include "crm/common/validate.hpp"
#include "csat/csat.hpp"
#include "csat/service.hpp"
#include "domain/csat.hpp"

namespace crm::support::csat {
namespace {

using common::RequestContext;
using google::protobuf::util::TimeUtil;

bool IsPublic(const RequestContext& rc) {
    return std::find(rc.roles.begin(), rc.roles.end(), "public") != rc.roles.end();
}

// Only the customer answers, through the survey's link (the gateway admits it by the token, role "public").
void RequireLink(const RequestContext& rc) {
    if (!IsPublic(rc)) throw common::ApiError::PermissionDenied("a survey is answered through its link only");
}

}  // namespace

grpc::Status CsatService::AnswerCsatSurvey(grpc::ServerContext* sc, const v1::AnswerCsatSurveyRequest* req,
                                           v1::AnswerCsatSurveyResponse* resp) {
    return rpc_.Handle(sc, "AnswerCsatSurvey", [&](const RequestContext& rc) {
        RequireLink(rc);
        common::Violations v;
        domain::CheckCsatAnswer(v, req->score(), req->comment());
        v.ThrowIfAny();
        *resp = csat_->Answer(rc, csat_->SurveyOfToken(rc, req->token()), req->score(), req->comment());
    });
}

grpc::Status CsatService::GetCsatSurveyPage(grpc::ServerContext* sc, const v1::GetCsatSurveyPageRequest* req,
                                            v1::GetCsatSurveyPageResponse* resp) {
    return rpc_.Handle(sc, "GetCsatSurveyPage", [&](const RequestContext& rc) {
        RequireLink(rc);
        common::Violations v;
        if (req->score() < 0 || req->score() > domain::kMaxCsatScore) v.Add("score", "must be 0 (none) to 5");
        v.ThrowIfAny();
        const std::string html = csat_->Page(rc, csat_->SurveyOfToken(rc, req->token()), req->score());
        resp->mutable_page()->set_content_type("text/html; charset=utf-8");
        resp->mutable_page()->set_data(html);
    });
}

grpc::Status CsatService::GetCsatReport(grpc::ServerContext* sc, const v1::GetCsatReportRequest* req,
                                        v1::GetCsatReportResponse* resp) {
    return rpc_.Handle(sc, "GetCsatReport", [&](const RequestContext& rc) {
        if (IsPublic(rc)) throw common::ApiError::PermissionDenied("a public link does not open this method");
        common::Violations v;
        const bool start_ok = req->has_start_time() && common::CheckTime(v, req->start_time().seconds(),
                                                                         req->start_time().nanos(), "start_time");
        const bool end_ok =
            req->has_end_time() && common::CheckTime(v, req->end_time().seconds(), req->end_time().nanos(), "end_time");
        if (!req->has_start_time()) v.Add("start_time", "required");
        if (!req->has_end_time()) v.Add("end_time", "required");
        const std::int64_t start = start_ok ? TimeUtil::TimestampToMicroseconds(req->start_time()) : 0;
        const std::int64_t end = end_ok ? TimeUtil::TimestampToMicroseconds(req->end_time()) : 0;
        if (start_ok && end_ok) {
            if (end <= start) {
                v.Add("end_time", "must be after start_time");
            } else if (end - start > domain::kMaxCsatReportSeconds * 1000000) {
                v.Add("end_time", "at most 366 days after start_time");
            }
        }
        if (!v1::CsatPeriod_IsValid(req->period())) v.Add("period", "unknown period");
        v.ThrowIfAny();
        *resp = csat_->Report(rc, start, end, domain::CsatPeriodUnit(req->period()));
    });
}

}  // namespace crm::support::csat
