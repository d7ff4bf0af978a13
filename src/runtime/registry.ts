import { AgentProcess } from './agent-process.js';
import { ConfigurationError } from './errors.js';
import { parentPath } from './path.js';
import type { ContainerNode, TreeNode } from './tree.js';

/** What lives at each path of one system: agents and supervisors, by path. */
export class Registry {
  private readonly nodes = new Map<string, TreeNode>();

  register(node: TreeNode): void {
    const existing = this.nodes.get(node.path);
    if (existing !== undefined && existing !== node) throw new ConfigurationError('path-taken', `path ${node.path} is already taken by a running ${existing.kind}`);
    this.nodes.set(node.path, node);
  }

  unregister(node: TreeNode): void {
    if (this.nodes.get(node.path) === node) this.nodes.delete(node.path);
  }

  has(path: string): boolean {
    return this.nodes.has(path);
  }

  lookup(path: string): TreeNode | undefined {
    return this.nodes.get(path);
  }

  agentAt(path: string): AgentProcess | undefined {
    const node = this.nodes.get(path);
    return node instanceof AgentProcess ? node : undefined;
  }

  /** The first starts of every agent (see AgentProcess.firstStart). */
  firstStarts(): Promise<void>[] {
    const starts: Promise<void>[] = [];
    for (const node of this.nodes.values()) if (node instanceof AgentProcess) starts.push(node.firstStart);
    return starts;
  }

  /**
   * Whether something lives at `path` or is about to: a registered node (an agent stays
   * registered while it waits to restart), or a child its supervisor expects (see
   * ContainerNode), or anything below a supervisor that is itself expected back (a bystander of
   * a group restart takes its children down with it).
   */
  livesAt(path: string): boolean {
    if (this.nodes.has(path)) return true;
    for (let child = path, parent = parentPath(path); parent !== undefined; child = parent, parent = parentPath(parent)) {
      const container = this.nodes.get(parent);
      if (container !== undefined) return 'expectsChild' in container && (container as ContainerNode).expectsChild(child);
    }
    return false;
  }
}
