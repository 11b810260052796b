#pragma once
// SQL fragments for times, shared by the areas' statements (each area's sql.hpp has its own statements): times travel
// as microseconds since the epoch (bigint), dates as "YYYY-MM-DD" text.

// clang-format off
#define CRM_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define CRM_AT_MICROS(param) "(timestamptz 'epoch' + " param "::bigint * interval '1 microsecond')"
#define CRM_UTC_DAY(param) "((" param ")::timestamp AT TIME ZONE 'UTC')"
// clang-format on
