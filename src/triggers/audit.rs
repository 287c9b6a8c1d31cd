//! The audit trail: `vibecraft.audit_trigger()`, attached by `vibecraft.enable_audit(regclass)`.
//!
//! One row in `vibecraft.audit_logs` per inserted, updated or deleted row (AFTER ... FOR
//! EACH ROW) and per TRUNCATE (statement level). `changes` is `{"before": ..., "after": ...}`:
//! the whole row for INSERT and DELETE, only the changed columns for UPDATE; an UPDATE
//! that changes nothing writes nothing. Columns that hold secrets are never written: the
//! names in `ALWAYS_EXCLUDED` plus the trigger's arguments (enable_audit's excluded_columns).
//!
//! Why native: the row is turned into JSON here, once, with the column metadata cached
//! per trigger (dropped by a relcache callback when the table or trigger changes), and
//! the audit row is inserted by the executor's single-row insert where that is safe,
//! else through one prepared, kept plan run with the trail owner's rights
//! (owner_rights.rs).

use crate::errors::raise;
use crate::owner_rights::types::{TEXT, UUID};
use crate::owner_rights::{Access, OwnerStatement};
use pgrx::prelude::*;
use pgrx::{pg_sys, IntoDatum};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::rc::Rc;

/// Column names that hold secrets in vibecraft's own tables and in common app schemas.
/// Never written to the audit trail, whatever the caller asks.
pub const ALWAYS_EXCLUDED: &[&str] = &[
    "api_key_encrypted",
    "key_hash",
    "password",
    "password_hash",
    "secret",
    "access_token",
    "refresh_token",
    "id_token",
    "session_token",
    "token",
];

#[derive(Clone, Copy, PartialEq)]
enum JsonKind {
    Bool,
    Number,
    Json,
    Array,
    Composite,
    /// date, time, timetz, timestamp, timestamptz: ISO 8601 as to_jsonb writes them.
    DateTime(pg_sys::Oid),
    Text,
}

struct Column {
    name: String,
    index: usize,
    kind: JsonKind,
    output_fn: pg_sys::Oid,
    typlen: i16,
    typbyval: bool,
}

struct AuditedTable {
    relid: pg_sys::Oid,
    table_schema: String,
    table_name: String,
    /// Audited columns (dropped and excluded ones removed), in table order.
    columns: Vec<Column>,
    /// Primary key columns: (position in the tuple, output function of its type).
    primary_key: Vec<(usize, pg_sys::Oid)>,
    /// Position of a uuid `organization_id` column, to scope the audit row.
    organization_id: Option<usize>,
    /// False on all but one copy of a Citus shard (each copy of a reference table fires
    /// its own trigger, on its own node): the change is recorded once.
    records_here: bool,
}

/// On a Citus node, a shard is a table of its own (`users_102008`) with the table's
/// triggers. What the audit trail records is the table's own name, and a change once: on
/// the copy in the lowest node group (for a reference table, the coordinator's when it
/// holds one), in that node's own audit_logs (docs/scale-out.md, the audit trail on Citus).
/// None when the relation is not a shard (no Citus, or a table of its own).
fn citus_shard_of(table: &str) -> Option<(String, bool)> {
    let (logical, shard) = table.rsplit_once('_')?;
    let shard: i64 = shard.parse().ok()?;
    if !crate::identity::nodes::citus_in_this_database() {
        return None;
    }
    // Read-only catalog reads: Citus keeps its metadata on every node.
    Spi::connect(|c| {
        let row = c.select(
            "SELECT c.relname::pg_catalog.text,
                    (SELECT pg_catalog.min(p.groupid) FROM pg_catalog.pg_dist_placement p WHERE p.shardid OPERATOR(pg_catalog.=) s.shardid)
                      OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)
               FROM pg_catalog.pg_dist_shard s JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.logicalrelid
              WHERE s.shardid OPERATOR(pg_catalog.=) $1",
            Some(1),
            &[shard.into()],
        )?;
        if row.is_empty() {
            return Ok(None);
        }
        let (name, here) = row.first().get_two::<String, bool>()?;
        Ok::<_, pgrx::spi::Error>(name.filter(|n| n == logical).map(|n| (n, here.unwrap_or(true))))
    })
    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("vibecraft.audit_trigger(): reading Citus' shard metadata failed: {e}"), None))
}

thread_local! {
    /// Keyed by trigger OID: the excluded columns are the trigger's arguments.
    static TABLES: RefCell<HashMap<pg_sys::Oid, Rc<AuditedTable>>> = RefCell::new(HashMap::new());
    /// OID of vibecraft.audit_logs, looked up once and forgotten when it changes.
    static AUDIT_RELID: std::cell::Cell<pg_sys::Oid> = const { std::cell::Cell::new(pg_sys::InvalidOid) };
}

/// Relcache invalidation: forget what we cached about the changed relation (or all).
unsafe extern "C-unwind" fn forget_relation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    TABLES.with(|t| {
        let mut t = t.borrow_mut();
        if relid == pg_sys::InvalidOid {
            t.clear();
        } else {
            t.retain(|_, info| info.relid != relid);
        }
    });
    AUDIT_RELID.with(|a| {
        if relid == pg_sys::InvalidOid || a.get() == relid {
            a.set(pg_sys::InvalidOid);
        }
    });
    // The audit table itself may have been dropped and re-created (DROP/CREATE EXTENSION);
    // plancache revalidates kept plans, so the plan survives that.
}

pub fn register_callbacks() {
    // SAFETY: called from _PG_init; the callback only touches this module's caches.
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(forget_relation), pg_sys::Datum::from(0)) };
}

fn json_kind(typid: pg_sys::Oid) -> JsonKind {
    // SAFETY: plain syscache lookups on a valid type OID.
    let base = unsafe { pg_sys::getBaseType(typid) };
    match base {
        pg_sys::BOOLOID => JsonKind::Bool,
        pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID | pg_sys::FLOAT4OID
        | pg_sys::FLOAT8OID | pg_sys::NUMERICOID | pg_sys::OIDOID => JsonKind::Number,
        pg_sys::JSONOID | pg_sys::JSONBOID => JsonKind::Json,
        pg_sys::DATEOID | pg_sys::TIMEOID | pg_sys::TIMETZOID | pg_sys::TIMESTAMPOID
        | pg_sys::TIMESTAMPTZOID => JsonKind::DateTime(base),
        _ => unsafe {
            if pg_sys::get_element_type(base) != pg_sys::InvalidOid {
                JsonKind::Array
            } else if pg_sys::type_is_rowtype(base) {
                JsonKind::Composite
            } else {
                JsonKind::Text
            }
        },
    }
}

/// The audited relation's schema, name and primary-key column numbers, from the relation
/// and system caches rather than a query of pg_class: on a Citus node such a query does not
/// see shards (Citus hides them from applications), and the trigger on a reference table's
/// copy on the coordinator fires in the application's own backend.
fn names_and_primary_key(data: &pg_sys::TriggerData) -> (String, String, Vec<i16>) {
    // SAFETY: inside a firing trigger the relation is open and valid; the namespace name
    // is palloc'd (or NULL for a namespace dropped meanwhile); the index list is a copy we
    // free; the pg_index tuple is released before return.
    unsafe {
        let rel = data.tg_relation;
        let form = &*(*rel).rd_rel;
        let table = pgrx::name_data_to_str(&form.relname).to_string();
        let namespace = pg_sys::get_namespace_name(form.relnamespace);
        let schema = if namespace.is_null() { String::new() } else { CStr::from_ptr(namespace).to_string_lossy().into_owned() };
        // RelationGetIndexList fills in rd_pkindex.
        pg_sys::list_free(pg_sys::RelationGetIndexList(rel));
        let mut attnums = Vec::new();
        let pk = (*rel).rd_pkindex;
        if pk != pg_sys::InvalidOid {
            let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::INDEXRELID as i32, pg_sys::Datum::from(pk));
            if !tuple.is_null() {
                let index = &*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_index>(tuple);
                let keys = usize::try_from(index.indnkeyatts).unwrap_or(0);
                attnums = index.indkey.values.as_slice(keys).to_vec();
                pg_sys::ReleaseSysCache(tuple);
            }
        }
        (schema, table, attnums)
    }
}

fn load_table(data: &pg_sys::TriggerData) -> Rc<AuditedTable> {
    // SAFETY: inside a firing trigger the relation and trigger structs are valid.
    let (rel, trig) = unsafe { (&*data.tg_relation, &*data.tg_trigger) };
    let tgoid = trig.tgoid;
    if let Some(info) = TABLES.with(|t| t.borrow().get(&tgoid).cloned()) {
        return info;
    }

    let mut excluded: Vec<String> = ALWAYS_EXCLUDED.iter().map(|s| s.to_string()).collect();
    for i in 0..trig.tgnargs as usize {
        // SAFETY: tgargs holds tgnargs C strings.
        let arg = unsafe { CStr::from_ptr(*trig.tgargs.add(i)) };
        excluded.push(arg.to_string_lossy().into_owned());
    }

    let relid = rel.rd_id;
    // SAFETY: rd_att is the relation's valid tuple descriptor.
    let attrs = unsafe { super::columns_of(rel.rd_att) };
    let mut columns = Vec::with_capacity(attrs.len());
    let mut organization_id = None;
    let mut by_attnum = HashMap::new();
    for (index, attr) in attrs.iter().enumerate() {
        if attr.attisdropped {
            continue;
        }
        let name = pgrx::name_data_to_str(&attr.attname).to_string();
        by_attnum.insert(attr.attnum, index);
        if name == "organization_id" && attr.atttypid == pg_sys::UUIDOID {
            organization_id = Some(index);
        }
        if excluded.contains(&name) {
            continue;
        }
        let mut output_fn = pg_sys::InvalidOid;
        let mut is_varlena = false;
        // SAFETY: valid type OID from the catalog.
        unsafe { pg_sys::getTypeOutputInfo(attr.atttypid, &mut output_fn, &mut is_varlena) };
        columns.push(Column {
            name,
            index,
            kind: json_kind(attr.atttypid),
            output_fn,
            typlen: attr.attlen,
            typbyval: attr.attbyval,
        });
    }

    let (schema, table, pk_attnums) = names_and_primary_key(data);
    let (table, records_here) = match citus_shard_of(&table) {
        Some((logical, here)) => (logical, here),
        None => (table, true),
    };
    // The audit row names its row by the primary key, but by `id` alone when the key has
    // one: a tenant table's key is (id, tenant column) so that Citus can distribute it
    // (docs/scale-out.md), and a row's history stays findable by its id, as before. A
    // column that holds a secret never names a row (a session's key has its token).
    let key_columns: Vec<usize> = pk_attnums.into_iter().filter_map(|attnum| by_attnum.get(&attnum).copied()).collect();
    let named = |index: &usize| attrs.get(*index).map(|a| pgrx::name_data_to_str(&a.attname).to_string());
    let id_only: Vec<usize> = key_columns.iter().copied().filter(|i| named(i).as_deref() == Some("id")).collect();
    let key_columns = if id_only.is_empty() { key_columns } else { id_only };
    let primary_key = key_columns
        .into_iter()
        .filter(|index| !named(index).is_some_and(|name| ALWAYS_EXCLUDED.contains(&name.as_str())))
        .map(|index| {
            let mut output_fn = pg_sys::InvalidOid;
            let mut is_varlena = false;
            // SAFETY: a catalog lookup for a live attribute's type.
            let typid = attrs.get(index).expect("a primary key column of this table").atttypid;
            unsafe { pg_sys::getTypeOutputInfo(typid, &mut output_fn, &mut is_varlena) };
            (index, output_fn)
        })
        .collect();

    let info = Rc::new(AuditedTable {
        relid,
        table_schema: schema,
        table_name: table,
        columns,
        primary_key,
        organization_id,
        records_here,
    });
    TABLES.with(|t| t.borrow_mut().insert(tgoid, info.clone()));
    info
}

/// A deformed heap tuple: one value and null flag per attribute.
struct Row {
    values: Vec<pg_sys::Datum>,
    nulls: Vec<bool>,
}

fn deform(tuple: pg_sys::HeapTuple, tupdesc: pg_sys::TupleDesc) -> Row {
    // SAFETY: tuple and tupdesc come from the firing trigger and describe each other.
    unsafe {
        let natts = (*tupdesc).natts as usize;
        let mut row = Row { values: vec![pg_sys::Datum::from(0); natts], nulls: vec![true; natts] };
        pg_sys::heap_deform_tuple(tuple, tupdesc, row.values.as_mut_ptr(), row.nulls.as_mut_ptr());
        row
    }
}

/// Binary equality of two non-null values of one column, as PostgreSQL's datumIsEqual.
fn same_value(col: &Column, a: pg_sys::Datum, b: pg_sys::Datum) -> bool {
    if col.typbyval {
        return a == b;
    }
    // SAFETY: by-reference datums of this column's type; lengths come from the type.
    unsafe {
        let (pa, pb) = (a.cast_mut_ptr::<u8>(), b.cast_mut_ptr::<u8>());
        if pa == pb {
            return true;
        }
        let (la, lb) = match col.typlen {
            -1 => (
                pgrx::varlena::varsize_any(pa.cast()),
                pgrx::varlena::varsize_any(pb.cast()),
            ),
            -2 => (
                CStr::from_ptr(pa.cast()).to_bytes().len(),
                CStr::from_ptr(pb.cast()).to_bytes().len(),
            ),
            n => (n as usize, n as usize),
        };
        la == lb && std::slice::from_raw_parts(pa, la) == std::slice::from_raw_parts(pb, lb)
    }
}

fn output_text(col: &Column, value: pg_sys::Datum) -> String {
    // SAFETY: output function of the column's type applied to a non-null value of it.
    unsafe {
        let cstr = pg_sys::OidOutputFunctionCall(col.output_fn, value);
        let s = CStr::from_ptr(cstr).to_string_lossy().into_owned();
        pg_sys::pfree(cstr.cast());
        s
    }
}

fn json_of_builtin(func: unsafe fn(pg_sys::FunctionCallInfo) -> pg_sys::Datum, value: pg_sys::Datum) -> String {
    // SAFETY: array_to_json/row_to_json read the element or row type from the value itself.
    unsafe {
        let json = pgrx::direct_function_call_as_datum(func, &[Some(value)])
            .expect("array_to_json/row_to_json returned NULL for a non-null value");
        String::from_datum(json, false).unwrap_or_default()
    }
}

/// `s` as a JSON string, quoted and escaped by serde_json.
fn push_json_string(out: &mut String, s: &str) {
    // SAFETY: serde_json writes only the quoted, escaped form of a &str: valid UTF-8.
    serde_json::to_writer(unsafe { out.as_mut_vec() }, s).expect("a string serialises into memory");
}

fn push_value(out: &mut String, col: &Column, value: pg_sys::Datum) {
    match col.kind {
        JsonKind::Bool => out.push_str(if value.value() != 0 { "true" } else { "false" }),
        JsonKind::Number => {
            let text = output_text(col, value);
            // NaN and Infinity are not JSON numbers.
            if text.bytes().all(|b| b.is_ascii_digit() || b"-+.eE".contains(&b)) {
                out.push_str(&text);
            } else {
                push_json_string(out, &text);
            }
        }
        JsonKind::Json => out.push_str(&output_text(col, value)),
        JsonKind::Array => out.push_str(&json_of_builtin(pg_sys::array_to_json, value)),
        JsonKind::Composite => out.push_str(&json_of_builtin(pg_sys::row_to_json, value)),
        JsonKind::DateTime(typid) => {
            // SAFETY: a non-null value of a date/time type; NULL buf lets PostgreSQL palloc.
            let text = unsafe {
                let cstr = pg_sys::JsonEncodeDateTime(std::ptr::null_mut(), value, typid, std::ptr::null());
                let s = CStr::from_ptr(cstr).to_string_lossy().into_owned();
                pg_sys::pfree(cstr.cast());
                s
            };
            push_json_string(out, &text);
        }
        JsonKind::Text => push_json_string(out, &output_text(col, value)),
    }
}

/// `{"col": value, ...}` of the given row, limited to `only` columns when given.
fn push_object(out: &mut String, table: &AuditedTable, row: &Row, only: Option<&[bool]>) {
    out.push('{');
    let mut first = true;
    for (i, col) in table.columns.iter().enumerate() {
        if only.is_some_and(|o| !o[i]) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_json_string(out, &col.name);
        out.push(':');
        if row.nulls[col.index] {
            out.push_str("null");
        } else {
            push_value(out, col, row.values[col.index]);
        }
    }
    out.push('}');
}

fn record_id(table: &AuditedTable, row: &Row) -> Option<String> {
    if table.primary_key.is_empty() {
        return None;
    }
    let parts: Vec<String> = table
        .primary_key
        .iter()
        .map(|&(index, output_fn)| {
            if row.nulls[index] {
                return String::new();
            }
            // SAFETY: the output function of this column's type on a non-null value of it.
            unsafe {
                let cstr = pg_sys::OidOutputFunctionCall(output_fn, row.values[index]);
                let text = CStr::from_ptr(cstr).to_string_lossy().into_owned();
                pg_sys::pfree(cstr.cast());
                text
            }
        })
        .collect();
    Some(parts.join(","))
}

fn organization_of(table: &AuditedTable, row: &Row) -> Option<pgrx::Uuid> {
    let index = table.organization_id?;
    if row.nulls[index] {
        return None;
    }
    // SAFETY: the column is a uuid (checked when the table was loaded).
    unsafe { pgrx::Uuid::from_datum(row.values[index], false) }
}

struct AuditRow {
    action: &'static str,
    resource_id: Option<String>,
    changes: Option<String>,
    organization_id: Option<pgrx::Uuid>,
}

/// The general path's INSERT, with the rights of the trail's owner, so that callers need
/// no INSERT privilege on the trail (and cannot forge rows).
static INSERT_AUDIT_ROW: OwnerStatement = OwnerStatement {
    rights_of: (c"vibecraft", c"audit_logs"),
    sql: "INSERT INTO vibecraft.audit_logs
        (action, resource_type, table_schema, resource_id, changes, organization_id,
         db_role, transaction_id, ip_address, user_id)
    VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb, $6, $7, pg_catalog.txid_current(), pg_catalog.inet_client_addr(),
            vibecraft.current_user_id())",
    arg_types: &[TEXT, TEXT, TEXT, TEXT, TEXT, UUID, TEXT],
    access: Access::Write,
};

/// The acting database role's name.
fn current_role_name() -> String {
    // SAFETY: the current user id always names an existing role.
    unsafe { CStr::from_ptr(pg_sys::GetUserNameFromId(pg_sys::GetUserId(), false)).to_string_lossy().into_owned() }
}

fn audit_relid() -> pg_sys::Oid {
    let cached = AUDIT_RELID.with(|a| a.get());
    if cached != pg_sys::InvalidOid {
        return cached;
    }
    // SAFETY: catalog lookups by name.
    let relid = unsafe {
        let nsp = pg_sys::get_namespace_oid(c"vibecraft".as_ptr(), true);
        if nsp == pg_sys::InvalidOid {
            pg_sys::InvalidOid
        } else {
            pg_sys::get_relname_relid(c"audit_logs".as_ptr(), nsp)
        }
    };
    if relid == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            "vibecraft.audit_trigger(): table vibecraft.audit_logs does not exist",
            Some("Is the vibecraft extension installed in this database?"),
        );
    }
    AUDIT_RELID.with(|a| a.set(relid));
    relid
}

/// The columns the direct path fills. A trail with any other column (it may have a
/// default, or be NOT NULL) gets the SPI path, which applies defaults.
const AUDIT_COLUMNS: &[&str] = &[
    "id", "organization_id", "user_id", "action", "resource_type", "resource_id", "table_schema",
    "changes", "db_role", "transaction_id", "ip_address", "user_agent", "created_at", "updated_at",
];

/// Whether the audit row can go through PostgreSQL's own single-row insert of the
/// executor (`ExecSimpleRelationInsert`, what logical replication applies rows with): it
/// checks NOT NULL and CHECK constraints, computes nothing it was not given, and keeps
/// every index (unique, expression, partial, exclusion) as an INSERT would. It does not
/// fire AFTER triggers outside a query of their own, so a trail with triggers or rules,
/// or with columns unknown here, takes the SPI path.
unsafe fn executor_insert_is_safe(rel: pg_sys::Relation) -> bool {
    // SAFETY: an open relation's descriptor fields, read under its lock.
    unsafe {
        let r = &*rel;
        if (*r.rd_rel).relkind != pg_sys::RELKIND_RELATION as std::ffi::c_char || !r.trigdesc.is_null() || !r.rd_rules.is_null() {
            return false;
        }
        super::columns_of(r.rd_att)
            .iter()
            .all(|attr| attr.attisdropped || AUDIT_COLUMNS.contains(&pgrx::name_data_to_str(&attr.attname)))
    }
}

fn cstring_input(func: unsafe fn(pg_sys::FunctionCallInfo) -> pg_sys::Datum, text: &str) -> pg_sys::Datum {
    let c = std::ffi::CString::new(text.replace('\0', "")).expect("no NUL bytes left");
    // SAFETY: an input function applied to a NUL-terminated string that outlives the call.
    unsafe {
        pgrx::direct_function_call_as_datum(func, &[Some(pg_sys::Datum::from(c.as_ptr()))])
            .expect("input functions do not return NULL for non-NULL input")
    }
}

/// Write the audit row: through the executor's single-row insert when that is safe, else
/// through SPI. Either way the caller needs no privilege on the audit table: the trail
/// is the database's own record, written by vibecraft, never by the caller.
fn write_audit_row(table: &AuditedTable, row: AuditRow) {
    let relid = audit_relid();
    // SAFETY: the relation is opened and locked as the executor would for an INSERT; the
    // lock is kept to the end of the transaction (table_close with NoLock). The executor
    // state, result relation and slot are set up as PostgreSQL's logical replication sets
    // them up for one row (range table index 0: a relation outside any query, as
    // PostgreSQL's own ExecGetTriggerResultRel makes), and freed before returning.
    unsafe {
        let rel = pg_sys::table_open(relid, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
        if !executor_insert_is_safe(rel) {
            pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
            return write_audit_row_with_spi(table, row);
        }
        let estate = pg_sys::CreateExecutorState();
        (*estate).es_output_cid = pg_sys::GetCurrentCommandId(true);
        let result = pg_sys::palloc0(size_of::<pg_sys::ResultRelInfo>()).cast::<pg_sys::ResultRelInfo>();
        pg_sys::InitResultRelInfo(result, rel, 0, std::ptr::null_mut(), 0);
        pg_sys::ExecOpenIndices(result, false);
        let slot = pg_sys::table_slot_create(rel, &mut (*estate).es_tupleTable);
        let columns = super::columns_of((*rel).rd_att);
        let values = std::slice::from_raw_parts_mut((*slot).tts_values, columns.len());
        let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, columns.len());
        let now = pg_sys::Datum::from(pg_sys::GetCurrentTransactionStartTimestamp());
        let xid = pg_sys::GetTopFullTransactionId().value as i64;
        for (i, attr) in columns.iter().enumerate() {
            let value: Option<pg_sys::Datum> = if attr.attisdropped {
                None
            } else {
                match pgrx::name_data_to_str(&attr.attname) {
                    "id" => pgrx::Uuid::from_bytes(crate::ids::uuid_v7_bytes()).into_datum(),
                    "organization_id" => row.organization_id.into_datum(),
                    "user_id" => crate::identity::current_user().into_datum(),
                    "action" => row.action.into_datum(),
                    "resource_type" => table.table_name.as_str().into_datum(),
                    "resource_id" => row.resource_id.as_deref().into_datum(),
                    "table_schema" => table.table_schema.as_str().into_datum(),
                    "changes" => row.changes.as_deref().map(|c| cstring_input(pg_sys::jsonb_in, c)),
                    "db_role" => current_role_name().into_datum(),
                    "transaction_id" => xid.into_datum(),
                    "ip_address" => pgrx::direct_function_call_as_datum(pg_sys::inet_client_addr, &[]),
                    "created_at" | "updated_at" => Some(now),
                    _ => None,
                }
            };
            values[i] = value.unwrap_or(pg_sys::Datum::from(0));
            nulls[i] = value.is_none();
        }
        pg_sys::ExecStoreVirtualTuple(slot);
        pg_sys::ExecSimpleRelationInsert(result, estate, slot);
        pg_sys::ExecCloseIndices(result);
        pg_sys::ExecResetTupleTable((*estate).es_tupleTable, false);
        pg_sys::FreeExecutorState(estate);
        pg_sys::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
    }
}

/// The general path: an INSERT through SPI, run with the rights of the audit table's
/// owner, so that the caller needs no INSERT privilege on the trail.
fn write_audit_row_with_spi(table: &AuditedTable, row: AuditRow) {
    // The acting database role, taken before switching to the trail's owner.
    let db_role = current_role_name();
    let args: [pgrx::datum::DatumWithOid; 7] = [
        row.action.into(),
        table.table_name.as_str().into(),
        table.table_schema.as_str().into(),
        row.resource_id.into(),
        row.changes.into(),
        row.organization_id.into(),
        db_role.as_str().into(),
    ];
    INSERT_AUDIT_ROW.run(&args, |_| ());
}

#[pg_trigger]
fn audit_trigger<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, PgTriggerError> {
    let data = trigger.trigger_data();
    let event = data.tg_event;
    let timing_after = event & pg_sys::TRIGGER_EVENT_TIMINGMASK == 0;
    if !timing_after {
        raise(
            PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
            "vibecraft.audit_trigger() must be an AFTER trigger",
            Some("Attach it with vibecraft.enable_audit(table)."),
        );
    }
    if super::restoring_dump() {
        return Ok(None); // the dump carries the trail as it was
    }
    let table = load_table(data);
    if !table.records_here {
        return Ok(None); // another copy of this Citus shard records the change
    }
    // SAFETY: valid for the duration of the firing trigger.
    let tupdesc = unsafe { (*data.tg_relation).rd_att };
    let op = event & pg_sys::TRIGGER_EVENT_OPMASK;

    if op == pg_sys::TRIGGER_EVENT_TRUNCATE {
        write_audit_row(
            &table,
            AuditRow { action: "truncate", resource_id: None, changes: None, organization_id: None },
        );
        return Ok(None);
    }
    if event & pg_sys::TRIGGER_EVENT_ROW == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_TRIGGERED_ACTION_EXCEPTION,
            "vibecraft.audit_trigger() records rows: use FOR EACH ROW (FOR EACH STATEMENT only for TRUNCATE)",
            Some("Attach it with vibecraft.enable_audit(table)."),
        );
    }

    let mut changes = String::with_capacity(256);
    let audit = match op {
        pg_sys::TRIGGER_EVENT_INSERT => {
            let new = deform(data.tg_trigtuple, tupdesc);
            changes.push_str("{\"before\":null,\"after\":");
            push_object(&mut changes, &table, &new, None);
            changes.push('}');
            AuditRow {
                action: "insert",
                resource_id: record_id(&table, &new),
                organization_id: organization_of(&table, &new),
                changes: Some(changes),
            }
        }
        pg_sys::TRIGGER_EVENT_DELETE => {
            let old = deform(data.tg_trigtuple, tupdesc);
            changes.push_str("{\"before\":");
            push_object(&mut changes, &table, &old, None);
            changes.push_str(",\"after\":null}");
            AuditRow {
                action: "delete",
                resource_id: record_id(&table, &old),
                organization_id: organization_of(&table, &old),
                changes: Some(changes),
            }
        }
        pg_sys::TRIGGER_EVENT_UPDATE => {
            let old = deform(data.tg_trigtuple, tupdesc);
            let new = deform(data.tg_newtuple, tupdesc);
            let changed: Vec<bool> = table
                .columns
                .iter()
                .map(|c| match (old.nulls[c.index], new.nulls[c.index]) {
                    (true, true) => false,
                    (false, false) => !same_value(c, old.values[c.index], new.values[c.index]),
                    _ => true,
                })
                .collect();
            // updated_at alone moving is not a change worth a row.
            let meaningful = table
                .columns
                .iter()
                .zip(&changed)
                .any(|(c, &ch)| ch && c.name != "updated_at");
            if !meaningful {
                return Ok(None);
            }
            changes.push_str("{\"before\":");
            push_object(&mut changes, &table, &old, Some(&changed));
            changes.push_str(",\"after\":");
            push_object(&mut changes, &table, &new, Some(&changed));
            changes.push('}');
            AuditRow {
                action: "update",
                resource_id: record_id(&table, &new),
                organization_id: organization_of(&table, &new),
                changes: Some(changes),
            }
        }
        _ => return Ok(None),
    };
    write_audit_row(&table, audit);
    Ok(None)
}

/// `vibecraft.secret_column_names()`: the column names that never leave the database in
/// an audit row or a realtime payload (one list for both).
#[pg_extern(immutable, parallel_safe)]
fn secret_column_names() -> Vec<&'static str> {
    ALWAYS_EXCLUDED.to_vec()
}
