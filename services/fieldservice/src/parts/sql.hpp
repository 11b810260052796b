#pragma once
// Named SQL of the parts area (catalogue, locations, stock levels, reservations). The names label
// crm_db_query_duration_seconds{query}. Every statement filters by tenant_id = $1 in addition to the row-level
// security policy. Stock changes are single UPDATEs whose WHERE clause holds the rule (never below zero, never below
// what is reserved): concurrent changes of one level wait for the row lock and re-check the rule on the row as the
// other left it, so they are serialised without a lost update.
#include "crm/common/db.hpp"
#include "records.hpp"

namespace crm::fieldservice::sql {

using common::Sql;

// clang-format off
#define CRM_PART_COLUMNS "p.id::text, p.sku, p.name, coalesce(p.product_id::text, ''), " CRM_FS_MICROS("p.create_time")
inline constexpr Sql kGetPart{"fieldservice_part_get",
    "SELECT " CRM_PART_COLUMNS " FROM parts p WHERE p.tenant_id = $1 AND p.id = $2::uuid"};
inline constexpr Sql kGetParts{"fieldservice_parts_get",
    "SELECT " CRM_PART_COLUMNS " FROM parts p WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[]) ORDER BY p.sku"};
// The held reservations of the work orders $2 (uuid[]).
inline constexpr Sql kHeldReservations{"fieldservice_reservations_held",
    "SELECT r.id::text, r.work_order_id::text, r.part_id::text, r.location_id::text, r.quantity FROM reservations r "
    "WHERE r.tenant_id = $1 AND r.work_order_id = ANY($2::uuid[]) AND r.status = 'HELD' ORDER BY r.create_time, r.id"};
inline constexpr Sql kInsertPart{"fieldservice_part_insert",
    "INSERT INTO parts (tenant_id, id, sku, name, product_id) VALUES ($1, $2::uuid, $3, $4, $5::uuid) "
    "ON CONFLICT (tenant_id, sku) DO NOTHING RETURNING id"};
inline constexpr Sql kListParts{"fieldservice_parts_list",
    "SELECT " CRM_PART_COLUMNS " FROM parts p WHERE p.tenant_id = $1 AND (p.create_time, p.id) > ("
    CRM_FS_AT("$2") ", $3::uuid) ORDER BY p.create_time, p.id LIMIT $4"};
#undef CRM_PART_COLUMNS

#define CRM_LOCATION_COLUMNS "l.id::text, l.name, l.kind, " CRM_FS_MICROS("l.create_time")
inline constexpr Sql kGetLocation{"fieldservice_location_get",
    "SELECT " CRM_LOCATION_COLUMNS " FROM stock_locations l WHERE l.tenant_id = $1 AND l.id = $2::uuid"};
inline constexpr Sql kInsertLocation{"fieldservice_location_insert",
    "INSERT INTO stock_locations (tenant_id, id, name, kind) VALUES ($1, $2::uuid, $3, $4)"};
inline constexpr Sql kListLocations{"fieldservice_locations_list",
    "SELECT " CRM_LOCATION_COLUMNS " FROM stock_locations l WHERE l.tenant_id = $1 AND (l.create_time, l.id) > ("
    CRM_FS_AT("$2") ", $3::uuid) ORDER BY l.create_time, l.id LIMIT $4"};
#undef CRM_LOCATION_COLUMNS

#define CRM_LEVEL_RETURNING " RETURNING location_id::text, part_id::text, on_hand, reserved, reorder_point, version"
inline constexpr Sql kGetLevel{"fieldservice_stock_get",
    "SELECT location_id::text, part_id::text, on_hand, reserved, reorder_point, version FROM stock_levels "
    "WHERE tenant_id = $1 AND location_id = $2::uuid AND part_id = $3::uuid"};
inline constexpr Sql kGetLevelForUpdate{"fieldservice_stock_get_for_update",
    "SELECT location_id::text, part_id::text, on_hand, reserved, reorder_point, version FROM stock_levels "
    "WHERE tenant_id = $1 AND location_id = $2::uuid AND part_id = $3::uuid FOR UPDATE"};
// Adds $4 (>= 0) to on_hand, creating the level; $5 = set the reorder point to $6.
inline constexpr Sql kReceiveStock{"fieldservice_stock_receive",
    "INSERT INTO stock_levels AS s (tenant_id, location_id, part_id, on_hand, reorder_point) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, CASE WHEN $5 THEN $6 ELSE 0 END) "
    "ON CONFLICT (tenant_id, location_id, part_id) DO UPDATE SET on_hand = s.on_hand + $4, "
    "reorder_point = CASE WHEN $5 THEN $6 ELSE s.reorder_point END, version = s.version + 1"
    CRM_LEVEL_RETURNING};
// Removes $4 (> 0) from on_hand if that leaves at least what is reserved; no row = not enough.
inline constexpr Sql kRemoveStock{"fieldservice_stock_remove",
    "UPDATE stock_levels SET on_hand = on_hand - $4, reorder_point = CASE WHEN $5 THEN $6 ELSE reorder_point END, "
    "version = version + 1 WHERE tenant_id = $1 AND location_id = $2::uuid AND part_id = $3::uuid "
    "AND on_hand - reserved >= $4" CRM_LEVEL_RETURNING};
// Reserves $4 if that much is available; no row = not enough.
inline constexpr Sql kReserveStock{"fieldservice_stock_reserve",
    "UPDATE stock_levels SET reserved = reserved + $4, version = version + 1 WHERE tenant_id = $1 "
    "AND location_id = $2::uuid AND part_id = $3::uuid AND on_hand - reserved >= $4" CRM_LEVEL_RETURNING};
// Gives back a reservation of $4 and takes $5 of on_hand (consumption: $5 used, at most on_hand - reserved + $4).
inline constexpr Sql kSettleStock{"fieldservice_stock_settle",
    "UPDATE stock_levels SET reserved = reserved - $4, on_hand = on_hand - $5, version = version + 1 "
    "WHERE tenant_id = $1 AND location_id = $2::uuid AND part_id = $3::uuid AND reserved >= $4 "
    "AND on_hand - (reserved - $4) >= $5" CRM_LEVEL_RETURNING};
#undef CRM_LEVEL_RETURNING
#define CRM_LEVEL_LIST(filter)                                                                                      \
    "SELECT location_id::text, part_id::text, on_hand, reserved, reorder_point, version FROM stock_levels "       \
    "WHERE tenant_id = $1 " filter " AND (location_id, part_id) > ($2::uuid, $3::uuid) "                           \
    "ORDER BY location_id, part_id LIMIT $4"
inline constexpr Sql kListLevels{"fieldservice_stock_list", CRM_LEVEL_LIST("")};
inline constexpr Sql kListLevelsOfLocation{"fieldservice_stock_list_location",
    CRM_LEVEL_LIST("AND location_id = $5::uuid")};
inline constexpr Sql kListLevelsOfPart{"fieldservice_stock_list_part", CRM_LEVEL_LIST("AND part_id = $5::uuid")};
inline constexpr Sql kListLevelsOfBoth{"fieldservice_stock_list_both",
    CRM_LEVEL_LIST("AND location_id = $5::uuid AND part_id = $6::uuid")};
#undef CRM_LEVEL_LIST

inline constexpr Sql kInsertReservation{"fieldservice_reservation_insert",
    "INSERT INTO reservations (tenant_id, id, work_order_id, location_id, part_id, quantity) "
    "VALUES ($1, $2::uuid, $3::uuid, $4::uuid, $5::uuid, $6)"};
inline constexpr Sql kGetReservation{"fieldservice_reservation_get",
    "SELECT id::text, work_order_id::text, part_id::text, location_id::text, quantity FROM reservations "
    "WHERE tenant_id = $1 AND id = $2::uuid"};
// The held reservations of a work order, marked with the new status $3 (RELEASED or CONSUMED), in a fixed order.
inline constexpr Sql kCloseReservations{"fieldservice_reservations_close",
    "UPDATE reservations SET status = $3 WHERE tenant_id = $1 AND work_order_id = $2::uuid AND status = 'HELD' "
    "RETURNING location_id::text, part_id::text, quantity"};
// clang-format on

}  // namespace crm::fieldservice::sql
