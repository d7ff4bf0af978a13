import { z } from 'zod';
import { normalizePath } from '../runtime/path.js';

/** The well-known path of the directory facilitator (a root child with id `df`). */
export const DIRECTORY_PATH = '/df';
export const DIRECTORY_PROTOCOL = 'fipa-directory';

const Property = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** A service an agent offers (FIPA DF service description). */
export const ServiceDescription = z.object({
  name: z.string().min(1),
  ontology: z.string().optional(),
  properties: z.record(z.string(), Property).optional(),
});
export type ServiceDescription = z.output<typeof ServiceDescription>;

/** What a search matches: every given field must be equal (properties: each given key). */
export const ServiceQuery = z.object({
  service: z.string().min(1).optional(),
  ontology: z.string().optional(),
  properties: z.record(z.string(), Property).optional(),
});
export type ServiceQuery = z.output<typeof ServiceQuery>;

/** One listed offer: the agent and a service it offers. */
export const DirectoryEntry = z.object({ agent: z.string(), service: ServiceDescription });
export type DirectoryEntry = z.output<typeof DirectoryEntry>;

/** The `inform-ref` answer to a search, and the content of every subscription `inform`. */
export const DirectoryAnswer = z.array(DirectoryEntry);

/** An agent path, normalised: registrations are keyed by the path lifecycle events carry. */
const AgentPath = z.string().transform((path, context) => {
  try {
    return normalizePath(path);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** `request` content the directory takes. */
export const DirectoryRequest = z.discriminatedUnion('action', [
  /** `agent` defaults to the sender (an agent registers itself; a manager may register others). */
  z.object({ action: z.literal('register'), agent: AgentPath.optional(), services: z.array(ServiceDescription).min(1) }),
  /** Without `services`, every service of the agent. */
  z.object({ action: z.literal('deregister'), agent: AgentPath.optional(), services: z.array(z.string().min(1)).optional() }),
]);
export type DirectoryRequest = z.output<typeof DirectoryRequest>;

export function matches(entry: DirectoryEntry, query: ServiceQuery): boolean {
  if (query.service !== undefined && entry.service.name !== query.service) return false;
  if (query.ontology !== undefined && entry.service.ontology !== query.ontology) return false;
  for (const [key, value] of Object.entries(query.properties ?? {})) if (entry.service.properties?.[key] !== value) return false;
  return true;
}

/** The `inform-if` answer: whether any live agent offers a matching service. */
export const DirectoryIfAnswer = z.object({ holds: z.boolean() });
