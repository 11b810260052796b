-- The booked blocks of a few technicians in a time range (FindCandidates, Dispatch, PlanDay): the exclusion
-- constraint's GiST index (tenant, technician, block) serves that query badly — with `technician_id = ANY(...)` the
-- block is only a filter and the scan reads every booking those technicians have, and the number of pages it reads
-- grows with the tenant (EXPLAIN (BUFFERS) as the app role: 1,898 pages at 10,000 technicians / 100,000 bookings
-- against 659 at 100 / 1,000, for the same 50 technicians). A B-tree on the block's end reads, per technician, only
-- the bookings that end after the range starts: a technician's future calendar, whatever the tenant's size.
CREATE INDEX appointments_technician_end ON appointments (tenant_id, technician_id, end_time)
    WHERE status <> 'RELEASED';
