#pragma once
// SQL fragments for times, shared by the areas' statements: times travel as microseconds since the epoch (bigint).

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT_MICROS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
// clang-format on
