// The API's resources as the console reads them (SPEC §2).
export interface Phase {
  name: string;
  starts_at: string;
  ends_at: string;
}
export interface Season {
  id: string;
  code: string;
  name: string;
  timezone: string;
  applications_open_at: string;
  applications_close_at: string;
  starts_at: string;
  ends_at: string;
  phases: Phase[];
  state: string;
  version: number;
}
export interface Brand {
  id: string;
  name: string;
  kind: 'brand' | 'independent_retailer';
  tmall_store_url: string;
  verification: 'pending' | 'verified' | 'rejected';
  verification_note: string | null;
  created_at: string;
}
export interface Creative {
  headline?: string;
  body?: string;
  card_label?: string;
  logo_url?: string;
  image_urls?: string[];
}
export interface Application {
  id: string;
  brand_id: string;
  season_id: string;
  title: string;
  creative: Creative | null;
  landing: { app_url?: string; web_url?: string } | null;
  requested_window: { starts_at: string; ends_at: string } | null;
  budget: { total_fen?: number; daily_cap_fen?: number | null; cpm_bid_fen?: number } | null;
  targeting: {
    regions?: string[];
    age_min?: number;
    age_max?: number;
    genders?: string[];
    interests?: string[];
  } | null;
  status: string;
  version: number;
  appeal: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  submitted_at: string | null;
  reviewer_id: string | null;
  decision: {
    decision: string;
    reason_code: string | null;
    note: string | null;
    decided_by: string;
    decided_at: string;
  } | null;
}
export interface QueueItem extends Application {
  waiting_seconds: number;
}
export interface AuditEvent {
  id: string;
  at: string;
  actor_id: string | null;
  actor_role: string | null;
  entity_type: string;
  entity_id: string;
  action: string;
  from_status: string | null;
  to_status: string | null;
  note: string | null;
}
export interface ReasonCode {
  code: string;
  title: string;
  remediation: string;
}
export interface WhitelistEntry {
  id: string;
  brand_id: string;
  season_id: string;
  status: 'active' | 'suspended' | 'revoked';
  valid_from: string;
  valid_until: string;
  source_application_id: string | null;
  granted_by: string | null;
  granted_at: string;
  status_reason: string | null;
}
export interface Summary {
  season_id: string | null;
  applications: Record<string, number>;
  whitelist: Record<string, number>;
  campaigns: Record<string, number>;
  review: {
    pending: number;
    oldest_pending_seconds: number | null;
    median_decision_seconds: number | null;
    p90_decision_seconds: number | null;
    approval_rate: number | null;
  };
}
export interface ApiKey {
  id: string;
  name: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}
