/** Lifecycle and supervision events, streamed by `system.events` (and later the inspector). */
export type SystemEvent =
  | { readonly type: 'started'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly at: number }
  | { readonly type: 'failed'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly reason: string; readonly at: number }
  | { readonly type: 'restarted'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly restarts: number; readonly at: number }
  | { readonly type: 'stopped'; readonly path: string; readonly kind: 'agent' | 'supervisor'; readonly incarnation: string; readonly reason: string; readonly at: number }
  | { readonly type: 'hung'; readonly path: string; readonly incarnation: string; readonly detail: string; readonly at: number }
  | { readonly type: 'escalated'; readonly path: string; readonly reason: string; readonly at: number };

export type SystemEventType = SystemEvent['type'];
