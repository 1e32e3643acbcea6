import { useQuery, useQueryClient } from '@tanstack/react-query'
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react'
import { ApiError } from '../api/http'
import type { Account, Profile } from '../api/models'
import { client } from '../api/client'
import { call, hasSession, tokens } from './client'
import type { AuthState } from './tokens'

// Boot is where the app stands before it knows whether it is signed in:
// resuming a session from the refresh cookie takes one request.
export type Boot = 'resuming' | 'ready' | 'unreachable'

interface SessionValue {
  boot: Boot
  retryBoot(): void
  state: AuthState
}

const SessionContext = createContext<SessionValue | null>(null)

export function SessionProvider({ children }: { children: ReactNode }) {
  const state = useSyncExternalStore(tokens.subscribe, tokens.getState)
  const [boot, setBoot] = useState<Boot>(() => (tokens.token || !hasSession() ? 'ready' : 'resuming'))
  const qc = useQueryClient()

  useEffect(() => {
    if (boot !== 'resuming') return
    let live = true
    tokens
      .refresh(null)
      .then(() => live && setBoot('ready'))
      .catch(() => live && setBoot('unreachable'))
    return () => {
      live = false
    }
  }, [boot])

  // Cached data belongs to the session that fetched it.
  useEffect(() => {
    if (state.status === 'signed-out') qc.clear()
  }, [state, qc])

  return <SessionContext.Provider value={{ boot, retryBoot: () => setBoot('resuming'), state }}>{children}</SessionContext.Provider>
}

export function useSession(): SessionValue {
  const v = useContext(SessionContext)
  if (!v) throw new Error('useSession outside SessionProvider')
  return v
}

// useProfileId is the profile the session acts as, or undefined.
export function useProfileId(): string | undefined {
  const { state } = useSession()
  return state.status === 'signed-in' ? state.session.profile_id || undefined : undefined
}

export function useSessionId(): string | undefined {
  const { state } = useSession()
  return state.status === 'signed-in' ? state.session.id : undefined
}

export function useProfiles() {
  const sid = useSessionId()
  return useQuery({
    queryKey: ['profiles', sid],
    queryFn: () => call((headers) => client.GET('/api/v1/profiles', { headers })).then((r): Profile[] => r.items),
    enabled: !!sid,
    staleTime: 60_000,
  })
}

// useCurrentProfile returns the profile the session acts as, once loaded.
export function useCurrentProfile(): Profile | undefined {
  const id = useProfileId()
  const { data } = useProfiles()
  return data?.find((p) => p.id === id)
}

export function useAccount() {
  const sid = useSessionId()
  return useQuery({
    queryKey: ['account', sid],
    queryFn: () => call((headers) => client.GET('/api/v1/account', { headers })).then((r): Account => r),
    enabled: !!sid,
    staleTime: 60_000,
  })
}

// isSignedOutError is the error call() throws once the session is over;
// the router sends the user to the sign-in page then, so pages need not
// show it.
export const isSignedOutError = (e: unknown) => e instanceof ApiError && e.code === 'signed_out'
